export interface Project {
  id: string;
  name: string;
  /** The public project token (`phc_…`) that clients send as `api_key`/`token`. */
  token: string;
}
