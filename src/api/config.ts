import type { Driver, Labels, Meta } from './meta.js';

export interface ConfigSpec {
  Name: string;
  Labels?: Labels;
  /** Base64 of the config bytes, as Docker's API carries it. */
  Data?: string;
  Templating?: Driver;
}

export interface Config extends Meta {
  Spec: ConfigSpec;
}
