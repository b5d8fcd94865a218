export { ControlApi, type TaskFilter } from './control-api.js';
