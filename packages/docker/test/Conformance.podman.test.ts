import { DockerEngineLive } from "@armada/docker"
import { Conformance, ConformanceFixture, Engine, Podman } from "@armada/testkit"
import { Effect, Layer } from "effect"
import { describe } from "vitest"

const suite = "docker conformance (Podman's Docker-compatible API)"

/**
 * The live Docker layer on a Podman service of the test's own, started with the layer and
 * stopped with it; the fixture image is loaded into Podman's store from the Docker engine.
 */
const onPodman = Layer.unwrapScoped(
  Effect.gen(function* () {
    ConformanceFixture.ensureFixtureImage()
    const podman = yield* Effect.orDie(Podman.start({ images: [ConformanceFixture.fixtureImage] }))
    return DockerEngineLive.layer({ host: podman.host })
  })
)

describe.skipIf(Engine.skipWithoutEngine(suite) || Podman.skipWithoutPodman(suite))(suite, () => {
  Conformance.run({
    name: "DockerEngineLive on Podman",
    layer: onPodman,
    timeout: 120_000,
    // Podman 4.3.1 (Debian 12) answers these differently; each is listed in docs/cli.md ("Podman").
    unsupported: {
      isolation:
        "Podman's inspect lists each capability it dropped (AUDIT_WRITE, MKNOD, …) where Docker reports the CapDrop it was given (ALL)",
      networks:
        "Podman's inspect reports NetworkMode bridge for a container on a user-defined network, naming the network only under NetworkSettings.Networks",
      readOnlyMounts:
        "Podman writes an archive into a read-only volume mount of a container that is not running (HTTP 200, the files land in the volume) where Docker refuses"
    },
    differences: {
      "waiting on a running container ends with 137 when it is removed":
        "Podman's wait on a running container that is then removed (force) ends with 0, where Docker's ends with 137",
      "archive: put into a volume, get it back under the volume's name and through a mount":
        "Podman's archive of a path that is a mount point (a volume's root) names its entries from / (/a.txt) instead of under the path's name (<volume>/a.txt); a path below the mount point is named as on Docker",
      "archive: a missing path is a 404 EngineError, a missing volume VolumeNotFound":
        "Podman's put of an archive into a missing folder creates the folder and answers 200, where Docker answers 404 (a get of a missing path is a 404 on both)"
    }
  })
})
