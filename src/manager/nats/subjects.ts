// The subject scheme is src/api's (worker and dispatcher speak it too); the permissions rendered
// into the nats-server config take it from there under the name this folder has always used.
export {
  dispatchSubjects as subjects,
  subjectRoot,
  type DispatcherTopic,
  type NodeTopic,
} from '../../api/dispatch.js';
