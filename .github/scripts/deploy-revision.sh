#!/usr/bin/env bash
# Safe delivery to Azure Container Apps, one step per call (.github/workflows/cd.yml runs them in order):
#   record             remember what serves now (revisions with 100 % traffic, their images)
#   trial <sha>        ingestor -> the new image; gateway and web -> a NEW revision at 0 % traffic, wait until healthy
#   promote            100 % traffic to the trial revisions, then deactivate the old ones (gateway clients get
#                      close 1012 and resume on the new revision)
#   rollback           traffic back to the recorded revisions, deactivate the trial ones, restore the old images
# Images are deployed by digest (what Trivy scanned), resolved from ACR by the commit tag.
# Needs: az (signed in), azd environment provisioned, ACR_NAME, STATE_FILE (written by record, read after).
set -euo pipefail

: "${STATE_FILE:?STATE_FILE must name the file that carries state between steps}"
: "${ACR_NAME:?ACR_NAME must be the registry name}"
ready_timeout_seconds="${READY_TIMEOUT_SECONDS:-600}"

rg="$(azd env get-value AZURE_RESOURCE_GROUP)"
gateway="$(azd env get-value SERVICE_GATEWAY_NAME)"
ingestor="$(azd env get-value SERVICE_INGESTOR_NAME)"
web="$(azd env get-value SERVICE_WEB_NAME)"

log() { printf '%s\n' "$*" >&2; }

# The revision that takes all traffic now (named, or the latest when traffic follows it).
serving_revision() {
  local app="$1" revision
  revision="$(az containerapp revision list -g "$rg" -n "$app" --query "[?properties.trafficWeight==\`100\`].name | [0]" -o tsv)"
  if [ -z "$revision" ]; then
    revision="$(az containerapp show -g "$rg" -n "$app" --query properties.latestReadyRevisionName -o tsv)"
  fi
  printf '%s' "$revision"
}

revision_image() {
  az containerapp revision show -g "$rg" -n "$1" --revision "$2" --query "properties.template.containers[0].image" -o tsv
}

image_by_digest() {
  local service="$1" sha="$2" digest
  digest="$(az acr repository show -n "$ACR_NAME" --image "stockstream-$service:$sha" --query digest -o tsv)"
  printf '%s.azurecr.io/stockstream-%s@%s' "$ACR_NAME" "$service" "$digest"
}

wait_healthy() {
  local app="$1" revision="$2" waited=0 state
  while true; do
    state="$(az containerapp revision show -g "$rg" -n "$app" --revision "$revision" \
      --query "join('/', [properties.provisioningState, properties.runningState, properties.healthState])" -o tsv)"
    log "$revision: $state"
    case "$state" in
      Provisioned/Running*/Healthy) return 0 ;;
      Failed/*|*/Failed/*|*/Unhealthy) log "revision $revision failed: $state"; return 1 ;;
    esac
    if [ "$waited" -ge "$ready_timeout_seconds" ]; then
      log "revision $revision not healthy after ${ready_timeout_seconds}s"
      return 1
    fi
    sleep 10
    waited=$((waited + 10))
  done
}

# A new revision of an ingress app at 0 % traffic: pin traffic to the serving revision by name first, so the new
# one (not "latest") gets nothing until promote.
trial_revision() {
  local app="$1" image="$2" suffix="$3" stable="$4" revision
  az containerapp ingress traffic set -g "$rg" -n "$app" --revision-weight "$stable=100" -o none
  az containerapp update -g "$rg" -n "$app" --image "$image" --revision-suffix "$suffix" -o none
  revision="$app--$suffix"
  wait_healthy "$app" "$revision"
  printf '%s' "$revision"
}

case "${1:-}" in
  record)
    gateway_revision="$(serving_revision "$gateway")"
    web_revision="$(serving_revision "$web")"
    ingestor_revision="$(az containerapp show -g "$rg" -n "$ingestor" --query properties.latestReadyRevisionName -o tsv)"
    {
      printf 'GATEWAY_STABLE_REVISION=%s\n' "$gateway_revision"
      printf 'GATEWAY_STABLE_IMAGE=%s\n' "$(revision_image "$gateway" "$gateway_revision")"
      printf 'WEB_STABLE_REVISION=%s\n' "$web_revision"
      printf 'WEB_STABLE_IMAGE=%s\n' "$(revision_image "$web" "$web_revision")"
      printf 'INGESTOR_STABLE_IMAGE=%s\n' "$(revision_image "$ingestor" "$ingestor_revision")"
    } >"$STATE_FILE"
    log "recorded: $(tr '\n' ' ' <"$STATE_FILE")"
    ;;

  trial)
    sha="${2:?usage: $0 trial <commit sha>}"
    # shellcheck source=/dev/null
    . "$STATE_FILE"
    suffix="c${sha:0:7}-${GITHUB_RUN_ATTEMPT:-1}"

    az containerapp update -g "$rg" -n "$ingestor" --image "$(image_by_digest ingestor "$sha")" --revision-suffix "$suffix" -o none
    wait_healthy "$ingestor" "$ingestor--$suffix"

    gateway_trial="$(trial_revision "$gateway" "$(image_by_digest gateway "$sha")" "$suffix" "$GATEWAY_STABLE_REVISION")"
    web_trial="$(trial_revision "$web" "$(image_by_digest web "$sha")" "$suffix" "$WEB_STABLE_REVISION")"
    {
      printf 'GATEWAY_TRIAL_REVISION=%s\n' "$gateway_trial"
      printf 'GATEWAY_TRIAL_FQDN=%s\n' "$(az containerapp revision show -g "$rg" -n "$gateway" --revision "$gateway_trial" --query properties.fqdn -o tsv)"
      printf 'WEB_TRIAL_REVISION=%s\n' "$web_trial"
      printf 'WEB_TRIAL_FQDN=%s\n' "$(az containerapp revision show -g "$rg" -n "$web" --revision "$web_trial" --query properties.fqdn -o tsv)"
    } >>"$STATE_FILE"
    ;;

  promote)
    # shellcheck source=/dev/null
    . "$STATE_FILE"
    az containerapp ingress traffic set -g "$rg" -n "$gateway" --revision-weight "$GATEWAY_TRIAL_REVISION=100" -o none
    az containerapp ingress traffic set -g "$rg" -n "$web" --revision-weight "$WEB_TRIAL_REVISION=100" -o none
    az containerapp revision deactivate -g "$rg" -n "$gateway" --revision "$GATEWAY_STABLE_REVISION" -o none
    az containerapp revision deactivate -g "$rg" -n "$web" --revision "$WEB_STABLE_REVISION" -o none
    log "promoted $GATEWAY_TRIAL_REVISION and $WEB_TRIAL_REVISION"
    ;;

  rollback)
    # shellcheck source=/dev/null
    . "$STATE_FILE"
    # Whatever happened, the recorded revisions serve again first; clean-up after.
    az containerapp revision activate -g "$rg" -n "$gateway" --revision "$GATEWAY_STABLE_REVISION" -o none || true
    az containerapp revision activate -g "$rg" -n "$web" --revision "$WEB_STABLE_REVISION" -o none || true
    az containerapp ingress traffic set -g "$rg" -n "$gateway" --revision-weight "$GATEWAY_STABLE_REVISION=100" -o none
    az containerapp ingress traffic set -g "$rg" -n "$web" --revision-weight "$WEB_STABLE_REVISION=100" -o none
    if [ -n "${GATEWAY_TRIAL_REVISION:-}" ]; then
      az containerapp revision deactivate -g "$rg" -n "$gateway" --revision "$GATEWAY_TRIAL_REVISION" -o none || true
    fi
    if [ -n "${WEB_TRIAL_REVISION:-}" ]; then
      az containerapp revision deactivate -g "$rg" -n "$web" --revision "$WEB_TRIAL_REVISION" -o none || true
    fi
    # The app templates still name the new images (a later `azd provision` keeps the template's image, and its
    # traffic rule follows the latest revision): put the recorded images back, as fresh revisions at 0 %.
    suffix="rollback-${GITHUB_RUN_ID:-manual}-${GITHUB_RUN_ATTEMPT:-1}"
    az containerapp update -g "$rg" -n "$gateway" --image "$GATEWAY_STABLE_IMAGE" --revision-suffix "$suffix" -o none
    az containerapp update -g "$rg" -n "$web" --image "$WEB_STABLE_IMAGE" --revision-suffix "$suffix" -o none
    az containerapp update -g "$rg" -n "$ingestor" --image "$INGESTOR_STABLE_IMAGE" --revision-suffix "$suffix" -o none
    log "rolled back to $GATEWAY_STABLE_REVISION and $WEB_STABLE_REVISION"
    ;;

  *)
    echo "usage: $0 record | trial <sha> | promote | rollback" >&2
    exit 2
    ;;
esac
