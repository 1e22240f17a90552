// Deep imports of undici's CommonJS modules (no "exports" map, so Node resolves them); typed from undici's own types.
declare module "undici/lib/dispatcher/agent.js" {
  import type { Agent } from "undici";
  const AgentClass: typeof Agent;
  export default AgentClass;
}
declare module "undici/lib/api/index.js" {
  import type { Dispatcher } from "undici";
  const api: {
    request(this: Dispatcher, options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData>;
  };
  export default api;
}
