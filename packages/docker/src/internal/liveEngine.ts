/**
 * The `ContainerEngine` over dockerode, before `ContainerEngine.make` adds validation and spans:
 * the connection (address, HTTP agent, client) and the service put together from one module per
 * resource (`images`, `containers`, `volumes`, `networks`, `archives`), each of which takes the
 * `Client` (`client.ts`) through which every request goes. Only these modules touch the SDK.
 *
 * @internal
 */
import * as http from "node:http"
import { InputError } from "@armada/core"
import type { ContainerEngine } from "@armada/engine"
import { HttpClient } from "@effect/platform"
import type Docker from "dockerode"
import { Duration, Effect } from "effect"
import { Credentials } from "../Credentials.js"
import type { Options } from "../DockerEngineLive.js"
import * as Archives from "./archives.js"
import * as Client from "./client.js"
import * as Containers from "./containers.js"
import * as Images from "./images.js"
import * as Networks from "./networks.js"
import * as Remembered from "./remembered.js"
import * as Transport from "./transport.js"
import * as Volumes from "./volumes.js"

interface Address {
  readonly display: string
  readonly options: Docker.DockerOptions
}

/**
 * Every connection option is set, even to `undefined`, because docker-modem fills anything
 * missing from the process's own `DOCKER_HOST`, which must not override ours.
 */
const parseHost = (host: string): Effect.Effect<Address, InputError> => {
  const socket = host.startsWith("unix://")
    ? host.slice("unix://".length)
    : host.startsWith("/")
      ? host
      : undefined
  const unset = { ca: undefined, cert: undefined, key: undefined, protocol: "http" as const }
  if (socket !== undefined && socket.length > 0) {
    return Effect.succeed({
      display: `unix://${socket}`,
      options: { ...unset, socketPath: socket, host: undefined, port: undefined }
    })
  }
  const tcp = /^tcp:\/\/([^:/]+|\[[0-9a-fA-F:]+\]):(\d{1,5})\/?$/.exec(host)
  if (tcp !== null) {
    return Effect.succeed({
      display: `tcp://${tcp[1]}:${tcp[2]}`,
      options: {
        ...unset,
        socketPath: undefined,
        host: tcp[1]!.replace(/^\[|\]$/g, ""),
        port: Number(tcp[2])
      }
    })
  }
  return Effect.fail(
    new InputError({
      field: "DOCKER_HOST",
      value: host,
      reason: "expected unix:///path/to/docker.sock, tcp://host:port or a socket path"
    })
  )
}

/** @internal */
export const make = (options: Options) =>
  Effect.gen(function* () {
    const address = yield* parseHost(options.host ?? "unix:///var/run/docker.sock")
    const timeout = Duration.decode(options.timeout ?? Duration.seconds(30))
    const credentials = yield* Credentials
    // Optional, as the credentials are: with it, not-found pulls ask the registry which part is
    // missing. It is used after `make` returns, so it must live as long as the engine does.
    const registryClient = yield* Effect.serviceOption(HttpClient.HttpClient)
    const agent = yield* Transport.scopedAgent(() =>
      Transport.cheapToInspect(new http.Agent({ keepAlive: true }), "http.Agent")
    )
    const Dockerode = yield* Transport.loadDockerode
    // `agent` is a docker-modem option its types leave out.
    const docker = new Dockerode({ ...address.options, agent } as Docker.DockerOptions)
    const client = Client.make(docker, address.display, timeout)
    const { context, request } = client
    const networks = yield* Networks.make(client)
    const presentVolumes = Remembered.make<true>()

    const engine: ContainerEngine.Service = {
      address: address.display,
      ping: Effect.asVoid(request(context("ping", "engine", address.display), () => docker.ping())),
      version: request(context("version", "engine", address.display), () => docker.version()).pipe(
        Effect.map((version) => ({
          engine: "docker",
          version: version.Version,
          apiVersion: version.ApiVersion,
          os: version.Os,
          arch: version.Arch
        }))
      ),
      ...Images.make(client, credentials, registryClient),
      ...Containers.make(client, networks.ids, presentVolumes),
      ...Volumes.make(client, presentVolumes),
      ...networks.service,
      ...Archives.make(client)
    }
    return engine
  })
