"""Registers the alignment recipe kinds: reward, raft, dpo, rloo (cheap to import: no torch here)."""

from __future__ import annotations

from typing import Any

from lmbench.tuning.dpo_recipe import DpoConfig
from lmbench.tuning.raft_config import RaftConfig
from lmbench.tuning.registry import register_recipe
from lmbench.tuning.reward_recipe import RewardConfig
from lmbench.tuning.rloo_recipe import RlooConfig


def _reward(config: Any) -> Any:
    from lmbench.tuning.reward_recipe import run_reward

    return run_reward(config)


def _raft(config: Any) -> Any:
    from lmbench.tuning.raft import run_raft

    return run_raft(config)


def _dpo(config: Any) -> Any:
    from lmbench.tuning.dpo_recipe import run_dpo

    return run_dpo(config)


def _rloo(config: Any) -> Any:
    from lmbench.tuning.rloo_recipe import run_rloo

    return run_rloo(config)


register_recipe("reward", RewardConfig, _reward, "reward model: one-output classifier, Bradley-Terry loss on pairs (TRL RewardTrainer)")
register_recipe("raft", RaftConfig, _raft, "RAFT: sample K, rank by reward, fine-tune on the best (LMFlow raft_aligner)")
register_recipe("dpo", DpoConfig, _dpo, "DPO on preference pairs (TRL DPOTrainer)")
register_recipe("rloo", RlooConfig, _rloo, "online RL baseline: RLOO with RAFT's reward and generation budget (TRL)")
