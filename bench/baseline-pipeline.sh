#!/usr/bin/env bash
# The baseline of `pnpm bench pipeline`: the same pipeline with the docker CLI and curl, the way
# the Go coordinator armada replaces does it. Containers are started in parallel; then each is
# health-checked in turn, polling GET / once a second until it answers 200; processors are called
# in parallel, the merger once, the plugins one after another in declared order; the merge dir is
# copied out and everything is removed.
#
#   baseline-pipeline.sh PLAN_DIR OUTPUT_DIR
#
# PLAN_DIR (written by pipeline.bench.mjs) holds: `image`, `prefix`, `session`, `template` (a host
# directory), `processors` and `plugins` (ids in declared order, one per line), `env/<id>` (extra
# KEY=VALUE lines, optional), `process/<id>.json` (the request, `__WRITE_DIR__` to fill) and
# `plug/<id>.json` (`__DIRECTORY__` to fill). With BASELINE_PHASES set, appends "<phase> <epoch ms>"
# lines to that file as each phase begins (and "end" last), for the bench's breakdown.
set -euo pipefail

mark() { if [[ -n ${BASELINE_PHASES:-} ]]; then echo "$1 $(date +%s%3N)" >>"$BASELINE_PHASES"; fi; }
mark warm

plan=$1
output=$2
image=$(cat "$plan/image")
prefix=$(cat "$plan/prefix")
session=$(cat "$plan/session")
template=$(cat "$plan/template")
mapfile -t processors <"$plan/processors"
mapfile -t plugins <"$plan/plugins"

network=$prefix
template_volume=$prefix-baseline
session_volume=$prefix-baseline-$session
label=(--label "$prefix.managed=true" --label "$prefix.session=$session")
containers=()

cleanup() {
  mark cleanup
  if ((${#containers[@]} > 0)); then docker rm -f "${containers[@]}" >/dev/null 2>&1 || true; fi
  docker volume rm -f "$template_volume" "$session_volume" >/dev/null 2>&1 || true
  docker network rm "$network" >/dev/null 2>&1 || true
  mark end
}
trap cleanup EXIT

docker network inspect "$network" >/dev/null 2>&1 || docker network create "${label[@]}" "$network" >/dev/null
docker volume create "${label[@]}" "$template_volume" >/dev/null
docker volume create "${label[@]}" "$session_volume" >/dev/null

# The template goes into its volume through a container that is created, never started.
loader=$prefix-loader-$session
docker create --name "$loader" "${label[@]}" -v "$template_volume:/workspace/cyanprint" "$image" >/dev/null
docker cp "$template/." "$loader:/workspace/cyanprint" >/dev/null
docker rm -f "$loader" >/dev/null

port_of() { case $1 in processor) echo 5551 ;; plugin) echo 5552 ;; merger) echo 9000 ;; esac; }

start() { # role id
  local role=$1 id=$2 name=$prefix-$1-$2-$session mounts=()
  local env_args=(-e "ARMADA_ROLE=$role")
  if [[ -f $plan/env/$id ]]; then while IFS= read -r kv; do env_args+=(-e "$kv"); done <"$plan/env/$id"; fi
  if [[ $role != plugin ]]; then mounts+=(-v "$template_volume:/workspace/cyanprint:ro"); fi
  mounts+=(-v "$session_volume:/workspace/area")
  docker run -d --name "$name" "${label[@]}" --label "$prefix.role=$role" --network "$network" \
    "${env_args[@]}" "${mounts[@]}" -p "127.0.0.1::$(port_of "$role")" "$image" >/dev/null
}

names=()
roles=()
for id in "${processors[@]}"; do names+=("$id"); roles+=(processor); done
for id in "${plugins[@]}"; do names+=("$id"); roles+=(plugin); done
names+=(merger)
roles+=(merger)
for i in "${!names[@]}"; do containers+=("$prefix-${roles[$i]}-${names[$i]}-$session"); done

# Start in parallel.
mark start
pids=()
for i in "${!names[@]}"; do
  start "${roles[$i]}" "${names[$i]}" &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done

# Health checks one by one, once a second each, as the Go coordinator does.
mark ready
declare -A url
for i in "${!names[@]}"; do
  name=${containers[$i]}
  url[$name]=http://$(docker port "$name" "$(port_of "${roles[$i]}")" | head -n 1)
  until curl -fs -o /dev/null "${url[$name]}/"; do sleep 1; done
done

post() { # url body-file
  curl -fsS -X POST -H 'content-type: application/json' --data-binary "@$2" "$1"
}

work=$(mktemp -d)
trap 'rm -rf "$work"; cleanup' EXIT

# Processors in parallel; each answer names its output dir.
mark process
pids=()
for id in "${processors[@]}"; do
  write_dir=/workspace/area/$(cat /proc/sys/kernel/random/uuid)
  sed "s#__WRITE_DIR__#$write_dir#" "$plan/process/$id.json" >"$work/$id.request"
  post "${url[$prefix-processor-$id-$session]}/api/process" "$work/$id.request" >"$work/$id.response" &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done

# Merge, output dirs in declared order.
mark merge
merge_dir=/workspace/area/$(cat /proc/sys/kernel/random/uuid)
from=""
for id in "${processors[@]}"; do
  dir=$(sed -n 's/.*"outputDir":"\([^"]*\)".*/\1/p' "$work/$id.response")
  from+="${from:+,}\"$dir\""
done
printf '{"fromDirs":[%s],"toDir":"%s"}' "$from" "$merge_dir" >"$work/merge.request"
post "${url[$prefix-merger-merger-$session]}/merge/$session" "$work/merge.request" >/dev/null

# Plugins one after another, in declared order.
mark plug
for id in "${plugins[@]}"; do
  sed "s#__DIRECTORY__#$merge_dir#" "$plan/plug/$id.json" >"$work/$id.plug"
  post "${url[$prefix-plugin-$id-$session]}/api/plug" "$work/$id.plug" >/dev/null
done

mark export
mkdir -p "$output"
docker cp "$prefix-merger-merger-$session:$merge_dir/." "$output" >/dev/null
