import type { Driver, Labels, Meta } from './meta.js';

export interface SecretSpec {
  Name: string;
  Labels?: Labels;
  /** Base64 of the secret bytes, as Docker's API carries it. Never returned by inspect. */
  Data?: string;
  Driver?: Driver;
  Templating?: Driver;
}

export interface Secret extends Meta {
  /** Spec.Data never enters the store: it is kept here, sealed with the cluster key. */
  Spec: SecretSpec;
  /** The bytes sealed with the managers' cluster key (AES-256-GCM); never returned by the API. */
  Sealed?: string;
}
