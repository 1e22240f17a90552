/**
 * Registry-level operations: `ping()` (GET /v2/, which is how login checks
 * credentials) and handing out repositories that share one client, so they
 * share connections and cached tokens.
 */
import { RegistryError } from "../errors.js";
import { RegistryClient, type RemoteOptions } from "./registry-client.js";
import { RemoteRepository } from "./repository.js";
import { errorFromResponse, registryResponse } from "./response-errors.js";
import { discard, header } from "./http.js";

export class RemoteRegistry {
  readonly client: RegistryClient;

  constructor(
    readonly registry: string,
    options: RemoteOptions = {},
  ) {
    this.client = new RegistryClient(registry, options);
  }

  /**
   * Check that the registry speaks the distribution API and accepts our
   * credentials: resolves, or throws UnauthorizedError (wrong or missing
   * credentials), NetworkError, RegistryError.
   */
  async ping(opts: { signal?: AbortSignal } = {}): Promise<void> {
    return this.client.operation(`check ${this.registry}`, opts.signal, (signal) => this.checkApi(signal));
  }

  private async checkApi(signal: AbortSignal | undefined): Promise<void> {
    const res = await this.client.send({
      method: "GET",
      url: this.client.url("/v2/"),
      headers: {},
      ...(signal ? { signal } : {}),
    });
    if (res.status !== 200) {
      if (res.status === 404) {
        await discard(res);
        throw new RegistryError(`${this.registry} does not serve the registry API (GET /v2/ answered 404)`, 404, {
          hint: "check the registry address",
          response: registryResponse(res),
        });
      }
      throw await errorFromResponse(res, { registry: this.registry, what: "the API root /v2/", action: "access", loginCommand: this.client.loginCommand, redactor: this.client.redactor });
    }
    const apiVersion = header(res.headers, "docker-distribution-api-version");
    await discard(res);
    if (apiVersion !== undefined && !apiVersion.startsWith("registry/2")) {
      throw new RegistryError(`${this.registry} speaks an unsupported registry API "${apiVersion}"`, 200, { response: registryResponse(res) });
    }
  }

  repository(name: string): RemoteRepository {
    return new RemoteRepository({ registry: this.registry, repository: name }, { client: this.client });
  }
}
