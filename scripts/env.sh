# Sourced by the scripts: the venv, and tiktoken's offline encodings when none are configured.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. .venv/bin/activate
if [ -z "${TIKTOKEN_CACHE_DIR:-}" ] && [ -d ../shared/tiktoken ]; then
    export TIKTOKEN_CACHE_DIR="$(cd ../shared/tiktoken && pwd)"
fi
