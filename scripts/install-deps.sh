#!/usr/bin/env bash
# Installs the build and test dependencies from Debian 12's packages.
# Runs apt-get only when something is missing; uses sudo when not root.
# Extra packages a script needs may be given as arguments.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  libtorch-dev            # tensors, autograd, optimizers (LibTorch 1.13)
  libgloo-dev             # headers of LibTorch's Gloo process group (multi-process training)
  libopenblas0-pthread    # an optimised BLAS for LibTorch (Debian's default is netlib)
  libdnnl-dev             # oneDNN (LibTorch's own): matmul with weights packed once, bf16, int8
  nlohmann-json3-dev      # config.json, tokenizer.json, JSONL
  libcli11-dev            # the command line
  libcpp-httplib-dev      # the HTTP server
  libutf8proc-dev         # UTF-8 validation and Unicode normalisation
  libsentencepiece-dev    # its trainer, for tokenizers of models trained from scratch
  libpcre2-dev            # the tokenizers' pre-tokenisation regexes
  libcurl4-openssl-dev    # downloads of Hub models (--model org/name)
  libssl-dev              # sha256 / sha1 to check those downloads against the Hub's ETags
  libgtest-dev libgmock-dev
  "$@"
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
