"""Tiny causal LMs and a locally trained tokenizer for fast, offline tests.

Everything is built from a config with fixed seeds: a byte-level BPE tokenizer
(any text encodes) trained on a fixed corpus, and a 2-layer Llama or GPT-2.
"""

from __future__ import annotations

from pathlib import Path

CORPUS = [
    "The following are multiple choice questions (with answers) about anatomy.",
    "Question: Which organ pumps blood through the body?\nA. Liver\nB. Heart\nC. Lung\nD. Kidney\nAnswer: B",
    "Abstract: Patients were randomised to treatment or placebo. Outcomes improved.\nQuestion: Does it work?\nAnswer: yes",
    "Choices:\nA. one\nB. two\nC. three\nD. four\nAnswer: maybe no yes",
    "the of and to in is was for on that with as by at from his an were are which this be",
    "cell protein gene blood heart brain muscle bone nerve drug dose patient disease therapy",
    "0 1 2 3 4 5 6 7 8 9 10 100 1000 % ( ) , . ; : ? ! - ' \" / +",
]


def build_tokenizer(folder: Path, vocab_size: int = 400, bos: bool = False):
    """A byte-level BPE tokenizer; `bos=True` makes encode() prepend <s> like Llama-2 tokenizers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<pad>", "<s>", "</s>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS * 5, trainer=trainer)
    if bos:
        tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    fast.save_pretrained(folder)
    return fast


def build_tiny_model(folder: Path, arch: str = "llama", seed: int = 0, bos: bool = False,
                     max_positions: int = 512) -> Path:
    """Save a random 2-layer model plus tokenizer to `folder` and return it."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(folder, bos=bos)
    torch.manual_seed(seed)
    if arch == "llama":
        config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                             num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=max_positions,
                             bos_token_id=1, eos_token_id=2, pad_token_id=0, tie_word_embeddings=False)
        model = LlamaForCausalLM(config)
    elif arch == "gpt2":
        config = GPT2Config(vocab_size=len(tokenizer), n_embd=64, n_layer=2, n_head=4, n_positions=max_positions,
                            bos_token_id=1, eos_token_id=2, pad_token_id=0)
        model = GPT2LMHeadModel(config)
    else:
        raise ValueError(arch)
    # Random init gives near-uniform predictions; scaling up makes log-likelihoods distinct across choices.
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(3.0)
    model.save_pretrained(folder)
    return folder
