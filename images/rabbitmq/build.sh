# shellcheck shell=bash
# How scripts/build-images.sh builds RabbitMQ from Debian's package. Sourced by that script, which
# defines the helpers used here (bud, build_from_containerfile, write_archive, report, run_step).

RABBITMQ_REF="localhost/hzz-rabbitmq:$RABBITMQ_TAG"

build_rabbitmq() {
  local ctx="$REPO_ROOT/images/rabbitmq"
  local key
  key="$(printf '%s\n' "$(image_id "$DEBIAN_REF")" "$(cd "$ctx" && cat Containerfile ./*.conf)" | hash_text)"
  build_from_containerfile rabbitmq "$RABBITMQ_REF" "$ctx/Containerfile" "$ctx" "$key" --build-arg "BASE_IMAGE=$DEBIAN_REF"
}
