"""Continued-pretraining data: text_only documents tokenized, joined with EOS and packed into fixed blocks.

Each document is tokenized without special tokens and followed by EOS; the concatenation of all documents
(in mixture order) is cut into `block_size` blocks, the incomplete last block dropped (as transformers'
`run_clm.py` group_texts). Every token of a block is trained (labels = input_ids); a document boundary
inside a block is just its EOS, as in GPT-style pretraining.
"""

from __future__ import annotations

from typing import Any

from lmbench.errors import DataError


def pack_documents(tokenizer: Any, texts: list[str],
                   block_size: int) -> tuple[list[dict[str, list[int]]], dict[str, int]]:
    """Blocks of `block_size` tokens (input_ids, labels, attention_mask) and counts (documents, tokens, blocks)."""
    eos = tokenizer.eos_token_id
    if eos is None:
        raise DataError("the tokenizer has no EOS token to join documents with; pick a tokenizer that defines one")
    stream: list[int] = []
    for text in texts:
        stream += tokenizer.encode(text, add_special_tokens=False)
        stream.append(eos)
    n_blocks = len(stream) // block_size
    if n_blocks == 0:
        raise DataError(f"the data holds {len(stream)} tokens, fewer than one block of block_size={block_size}; "
                        "give more text or a smaller block_size")
    blocks = []
    for i in range(n_blocks):
        ids = stream[i * block_size:(i + 1) * block_size]
        blocks.append({"input_ids": ids, "labels": list(ids), "attention_mask": [1] * block_size})
    stats = {"documents": len(texts), "tokens": len(stream), "blocks": n_blocks,
             "trained_tokens": n_blocks * block_size, "dropped_tokens": len(stream) - n_blocks * block_size}
    return blocks, stats
