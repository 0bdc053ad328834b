"""Write a tiny random-weight llama-architecture GGUF model: ``python tiny_gguf.py OUT.gguf``.

Run with the ``local-server`` extra's interpreter (``.venv-local``, which has ``gguf``), not the
harness's. The model is two layers of width 64 over a byte-level SentencePiece vocabulary
(``<unk>``, ``<s>``, ``</s>`` and the 256 byte tokens), about 470 KB, seeded so every run writes
the same file: llama.cpp loads and serves it in milliseconds, and nothing is downloaded. Its
answers are random bytes, which is the point: a server must frame any text correctly.
"""

from __future__ import annotations

import sys

import gguf
import numpy as np

VOCAB = ["<unk>", "<s>", "</s>", *(f"<0x{b:02X}>" for b in range(256))]
EMBED, LAYERS, FFN, HEADS, CONTEXT = 64, 2, 128, 4, 2048


def write(path: str) -> None:
    rng = np.random.default_rng(9)

    def weights(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    writer = gguf.GGUFWriter(path, "llama")
    writer.add_name("vlm-harness-tiny")
    writer.add_context_length(CONTEXT)
    writer.add_embedding_length(EMBED)
    writer.add_block_count(LAYERS)
    writer.add_feed_forward_length(FFN)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(HEADS)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_dimension_count(EMBED // HEADS)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(VOCAB)
    writer.add_token_scores([0.0] * len(VOCAB))
    writer.add_token_types([gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL,
                            gguf.TokenType.CONTROL, *[gguf.TokenType.BYTE] * 256])
    writer.add_unk_token_id(0)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_tensor("token_embd.weight", weights(len(VOCAB), EMBED))
    writer.add_tensor("output_norm.weight", np.ones(EMBED, dtype=np.float32))
    writer.add_tensor("output.weight", weights(len(VOCAB), EMBED))
    for i in range(LAYERS):
        block = f"blk.{i}"
        writer.add_tensor(f"{block}.attn_norm.weight", np.ones(EMBED, dtype=np.float32))
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            writer.add_tensor(f"{block}.{name}.weight", weights(EMBED, EMBED))
        writer.add_tensor(f"{block}.ffn_norm.weight", np.ones(EMBED, dtype=np.float32))
        writer.add_tensor(f"{block}.ffn_gate.weight", weights(FFN, EMBED))
        writer.add_tensor(f"{block}.ffn_up.weight", weights(FFN, EMBED))
        writer.add_tensor(f"{block}.ffn_down.weight", weights(EMBED, FFN))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


if __name__ == "__main__":
    write(sys.argv[1])
