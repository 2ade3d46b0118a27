#!/usr/bin/env bash
# Builds bench/.venv: digestbot plus the peer summarisers. Run once before the benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv bench/.venv
bench/.venv/bin/pip install -q -e '.[postgres]' -r bench/requirements.txt
# sumy's tokenizers import nltk's punkt data only for non-Chinese languages; jieba does ours.
echo "bench/.venv ready: bench/.venv/bin/python -m bench.quality"
