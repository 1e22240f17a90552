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
    connect: Dispatcher["connect"];
  };
  export default api;
}
declare module "undici/lib/dispatcher/proxy-agent.js" {
  import type { ProxyAgent } from "undici";
  const ProxyAgentClass: typeof ProxyAgent;
  export default ProxyAgentClass;
}
declare module "undici/lib/dispatcher/pool.js" {
  import type { Pool } from "undici";
  const PoolClass: typeof Pool;
  export default PoolClass;
}
