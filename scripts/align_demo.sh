#!/usr/bin/env bash
# The LMFlow paper's alignment loop at demo scale on a CPU: SmolLM2-135M-Instruct -> SFT -> RAFT / DPO / RLOO,
# with a reward model trained here, then Table 5 columns on held-out prompts (reports/hh-rlhf-alignment).
#
# The only HH-RLHF files here are TEST splits: rows [0, 1177) of helpful-base train the reward model and give the
# SFT dialogues, RAFT/RLOO prompts and DPO pairs; rows [1177, 2354) are held out (pair accuracy; the last 200 give
# RAFT's early-stopping prompts, the first EVAL_LIMIT the hh_rlhf_helpful evaluation through --data-dir).
# Sizes are set by the variables below.
#
#   scripts/align_demo.sh          # ALIGN_DEMO (work folder), REPORT (report folder), PYTHON and the sizes below
#                                  # override the defaults
set -euo pipefail
cd "$(dirname "$0")/.."

WORK="${ALIGN_DEMO:-${LMBENCH_CACHE:-$HOME/.cache/lmbench}/align-demo}"
PYTHON="${PYTHON:-python}"
DB="$WORK/align.duckdb"
SFT_STEPS="${SFT_STEPS:-40}"          # x batch 4 chosen dialogues
RAFT_PROMPTS="${RAFT_PROMPTS:-16}"    # per iteration; 2 iterations, K = 4
DPO_STEPS="${DPO_STEPS:-40}"          # x batch 4 pairs
EVAL_LIMIT="${EVAL_LIMIT:-100}"       # held-out prompts per model (the first rows)
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
mkdir -p "$WORK"
lmbench() { "$PYTHON" -m lmbench "$@"; }
timed() { local t0=$SECONDS; "$@"; echo "wall $((SECONDS - t0)) s: $*" | tee -a "$WORK/walltimes.txt"; }
D="$WORK/data"

[ -f "$D/select_pairs.json" ] || timed "$PYTHON" scripts/hh_demo_data.py "$D"
RM="$WORK/rm/final"
[ -f "$RM/model.safetensors" ] || timed lmbench tune reward data="$D/train_pairs.json" eval_data="$D/heldout_pairs.json" \
  output_dir="$WORK/rm" db="$DB"
timed lmbench eval "$RM" --tasks "pairs:$D/heldout_pairs.json" --db "$DB" --no-progress

SFT="$WORK/sft/final"
[ -f "$SFT/config.json" ] || timed lmbench tune sft-full model=default data="$D/train_chosen.json" \
  template=hh max_steps="$SFT_STEPS" batch_size=4 max_length=384 \
  learning_rate=1e-5 output_dir="$WORK/sft" db="$DB"
# RAFT twice, 2 iterations x K = 4 and 3 x K = 8. early_stop keeps the best iteration by held-out reward on
# prompts from select_pairs.json, which the evaluation below never sees (the first EVAL_LIMIT held-out rows).
for RUN in "2 4" "3 8"; do
  set -- $RUN
  [ -f "$WORK/raft-$1x$2/final/config.json" ] || timed lmbench tune raft model="$SFT" reward_model="$RM" \
    data="$D/train_chosen.json" eval_data="$D/select_pairs.json" eval_prompts=16 iterations="$1" k="$2" \
    prompts_per_iteration="$RAFT_PROMPTS" learning_rate=1e-5 output_dir="$WORK/raft-$1x$2" db="$DB"
done
[ -f "$WORK/dpo/final/config.json" ] || timed lmbench tune dpo model="$SFT" data="$D/train_pairs.json" \
  max_steps="$DPO_STEPS" batch_size=4 max_length=384 learning_rate=1e-6 output_dir="$WORK/dpo" db="$DB"
[ -f "$WORK/rloo/final/config.json" ] || timed lmbench tune rloo model="$SFT" reward_model="$RM" \
  data="$D/train_chosen.json" iterations=2 k=4 prompts_per_iteration="$RAFT_PROMPTS" max_new_tokens=48 \
  output_dir="$WORK/rloo" db="$DB"
# DPO and RLOO again at RAFT's learning rate: at TRL's 1e-6 they barely move the policy in this budget.
[ -f "$WORK/dpo-lr1e-5/final/config.json" ] || timed lmbench tune dpo model="$SFT" data="$D/train_pairs.json" \
  max_steps="$DPO_STEPS" batch_size=4 max_length=384 learning_rate=1e-5 output_dir="$WORK/dpo-lr1e-5" db="$DB"
[ -f "$WORK/rloo-lr1e-5/final/config.json" ] || timed lmbench tune rloo model="$SFT" reward_model="$RM" \
  data="$D/train_chosen.json" iterations=2 k=4 prompts_per_iteration="$RAFT_PROMPTS" max_new_tokens=48 \
  learning_rate=1e-5 output_dir="$WORK/rloo-lr1e-5" db="$DB"

for MODEL in default "$SFT" "$WORK/raft-2x4/final" "$WORK/raft-3x8/final" "$WORK/dpo/final" "$WORK/rloo/final" \
    "$WORK/dpo-lr1e-5/final" "$WORK/rloo-lr1e-5/final"; do
  timed lmbench eval "$MODEL" --tasks hh_rlhf_helpful --data-dir "$D/heldout" --limit "$EVAL_LIMIT" \
    --reward-model "$RM" --db "$DB" --no-progress
done
timed lmbench leaderboard leaderboards/examples/smollm2-hh-rlhf-alignment.yaml --db "$DB" \
  --out "${REPORT:-reports/hh-rlhf-alignment}"
