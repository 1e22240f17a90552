/**
 * A real registry behind the fault proxy for one test file, with the hooks every such file needs: both
 * started before the tests, stopped after them, and the proxy's rules and records cleared after each test.
 *
 *   const env = proxiedRegistry({ auth: "htpasswd", users: { alice: "pw" } });
 *   it("…", async () => { env.proxy.addRule(…); … env.registry.url … });
 */
import { afterAll, afterEach, beforeAll } from "vitest";
import { startFaultProxy, type FaultProxy, type FaultProxyOptions } from "./fault-proxy.js";
import { startRegistry, type RunningRegistry, type StartRegistryOptions } from "./registry.js";

export interface ProxiedRegistry {
  readonly registry: RunningRegistry;
  readonly proxy: FaultProxy;
}

export function proxiedRegistry(
  registryOptions: StartRegistryOptions = {},
  proxyOptions: Omit<FaultProxyOptions, "upstream"> = {},
  afterEachTest: () => void = () => {},
): ProxiedRegistry {
  let registry: RunningRegistry | undefined;
  let proxy: FaultProxy | undefined;
  beforeAll(async () => {
    registry = await startRegistry(registryOptions);
    proxy = await startFaultProxy({ upstream: registry, ...proxyOptions });
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
  });
  afterEach(() => {
    proxy?.clearRules();
    proxy?.resetRequests();
    afterEachTest();
  });
  return {
    get registry() {
      if (registry === undefined) throw new Error("the registry starts in beforeAll");
      return registry;
    },
    get proxy() {
      if (proxy === undefined) throw new Error("the fault proxy starts in beforeAll");
      return proxy;
    },
  };
}
