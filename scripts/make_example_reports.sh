#!/usr/bin/env bash
# Build the example reports under reports/ from a real database: the real SmolLM2-135M-Instruct and variants of
# it (float32 vs bfloat16, 0-shot vs 5-shot MMLU, an untrained demo LoRA adapter) on the real data in
# ../shared/data, small limits so it runs on 2 CPU cores (about 25 minutes the first time; a second run reuses
# every stored answer and takes a minute). The database and the adapter stay outside the repository.
#
#   scripts/make_example_reports.sh            # LMBENCH_DATA, LMBENCH_EXAMPLES and PYTHON override the defaults
set -euo pipefail
cd "$(dirname "$0")/.."

DATA="${LMBENCH_DATA:-$(cd .. && pwd)/shared/data}"
WORK="${LMBENCH_EXAMPLES:-${LMBENCH_CACHE:-$HOME/.cache/lmbench}/example-reports}"
PYTHON="${PYTHON:-python}"
DB="$WORK/lmbench.duckdb"
LORA="$WORK/smollm2-lora-demo"
RM="$WORK/hh-rm/final"   # `lmbench tune reward` on HH-RLHF helpful-base test rows < 1177 (built below if absent)
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
mkdir -p "$WORK"
lmbench() { "$PYTHON" -m lmbench "$@"; }

# 1. An untrained LoRA adapter on the converted SmolLM2 (fixed seed; B initialised non-zero so it changes answers).
if [ ! -f "$LORA/adapter_config.json" ]; then
  "$PYTHON" - "$LORA" <<'EOF'
import sys

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

from lmbench.models.default_model import default_model_dir

torch.manual_seed(0)
base = AutoModelForCausalLM.from_pretrained(default_model_dir(), dtype=torch.float32)
config = LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
model = get_peft_model(base, config)
with torch.no_grad():  # init_lora_weights=False draws A and B at random; keep the change small but visible
    for name, p in model.named_parameters():
        if "lora_B" in name:
            p.mul_(0.05)
model.save_pretrained(sys.argv[1])
print(f"demo LoRA adapter (untrained, seed 0) saved to {sys.argv[1]}")
EOF
fi

# 1b. The demo reward model: the `reward` recipe (all-MiniLM-L6-v2 + a one-output head) on rows < 1177.
if [ ! -f "$RM/model.safetensors" ]; then
  "$PYTHON" scripts/hh_demo_data.py "$WORK/hh-data" --data "$DATA"
  lmbench tune reward data="$WORK/hh-data/train_pairs.json" eval_data="$WORK/hh-data/heldout_pairs.json" \
    max_length=128 output_dir="$WORK/hh-rm" db="$DB"
fi

# 2. Evaluations (each recorded with its command in the database; re-running reuses stored answers).
COMMON=(--data-dir "$DATA" --db "$DB" --no-progress)
for MODEL in default "$LORA"; do
  lmbench eval "$MODEL" --tasks mmlu_medical --limit 20 "${COMMON[@]}"                # 5-shot (MMLU default)
  lmbench eval "$MODEL" --tasks mmlu_medical --limit 20 --shots 0 "${COMMON[@]}"
  lmbench eval "$MODEL" --tasks pubmedqa --sample 50 "${COMMON[@]}"                   # test file is sorted by label
  lmbench eval "$MODEL" --tasks medmcqa --limit 50 "${COMMON[@]}"
  lmbench eval "$MODEL" --tasks lmflow_nll --limit 20 "${COMMON[@]}"
  lmbench eval "$MODEL" --tasks hh_rlhf_helpful,hh_rlhf_harmless --limit 12 --reward-model "$RM" "${COMMON[@]}"
done
# bfloat16 is about 7x slower on CPU: the 5-shot MMLU subjects and MedMCQA only (PubMedQA shows as missing).
lmbench eval default --dtype bfloat16 --tasks mmlu_medical --limit 20 "${COMMON[@]}"
lmbench eval default --dtype bfloat16 --tasks medmcqa --limit 50 "${COMMON[@]}"

# 3. Reports (specs in leaderboards/; each extends a built-in spec with these model rows).
for NAME in medical lmflow-nll hh-rlhf open-llm-v1; do
  lmbench leaderboard "leaderboards/examples/smollm2-$NAME.yaml" --db "$DB" --out "reports/$NAME"
done
# The committed screenshot: the browser test opens reports/medical/index.html in headless Chromium.
LMBENCH_UPDATE_SCREENSHOTS=1 "$PYTHON" -m pytest -q tests/test_leaderboard_browser.py -k example_report
du -sh reports
