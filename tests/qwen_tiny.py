"""A tiny, randomly initialised Qwen-Image-Edit-2509 pipeline, built offline for tests.

It has the real architecture classes and folder layout (``model_index.json``, ``transformer/``,
``vae/``, ``text_encoder/``, ``tokenizer/``, ``processor/``, ``scheduler/``) with tiny configs
(the ones diffusers' own tests use), so the qwen backend loads it through exactly the code path
that loads the real 57 GB download. Nothing comes from the hub: the tokenizer is a byte-level
BPE made from the 256 byte symbols plus Qwen's special tokens, and the text encoder's special-token
ids are the ids this tokenizer gives them. Its outputs are noise; tests check sizes, progress,
cancellation, seeds and loading, not picture quality.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from diffusers import (
    AutoencoderKLQwenImage,
    FlowMatchEulerDiscreteScheduler,
    QwenImageEditPlusPipeline,
    QwenImageTransformer2DModel,
)
from safetensors.torch import save_file
from tokenizers.pre_tokenizers import ByteLevel
from transformers import (
    Qwen2_5_VLConfig,
    Qwen2_5_VLForConditionalGeneration,
    Qwen2Tokenizer,
    Qwen2VLImageProcessor,
)

from engine.qwen.processor import ImageOnlyQwen2VLProcessor

#: Qwen2.5-VL's special tokens, in the order they are added after the 256 byte symbols.
SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
)

#: The parts a complete model folder has; tests delete some to check the error message.
COMPONENTS = ("transformer", "vae", "text_encoder", "tokenizer", "processor", "scheduler")


def build_tokenizer(folder: Path) -> Qwen2Tokenizer:
    """A byte-level BPE tokenizer with no merges: every UTF-8 byte is one token."""
    folder.mkdir(parents=True, exist_ok=True)
    vocab = {symbol: index for index, symbol in enumerate(sorted(ByteLevel.alphabet()))}
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    tokenizer = Qwen2Tokenizer.from_pretrained(folder)
    tokenizer.add_special_tokens({"additional_special_tokens": list(SPECIAL_TOKENS)})
    return tokenizer


def build_text_encoder(tokenizer: Qwen2Tokenizer) -> Qwen2_5_VLForConditionalGeneration:
    """A 2-layer Qwen2.5-VL whose special-token ids match ``tokenizer``."""
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS}
    config = Qwen2_5_VLConfig(
        text_config={
            "hidden_size": 16,
            "intermediate_size": 16,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "num_key_value_heads": 2,
            "rope_scaling": {"mrope_section": [1, 1, 2], "rope_type": "default", "type": "default"},
            "rope_theta": 1000000.0,
            "vocab_size": len(tokenizer),
            "bos_token_id": ids["<|endoftext|>"],
            "eos_token_id": ids["<|im_end|>"],
            "pad_token_id": ids["<|endoftext|>"],
        },
        vision_config={
            "depth": 2,
            "hidden_size": 16,
            "intermediate_size": 16,
            "num_heads": 2,
            "out_hidden_size": 16,
        },
        hidden_size=16,
        vocab_size=len(tokenizer),
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        vision_token_id=ids["<|vision_pad|>"],
        eos_token_id=ids["<|im_end|>"],
    )
    return Qwen2_5_VLForConditionalGeneration(config)


def build_pipeline(work_dir: Path, seed: int = 0, zero_cond_t: bool = False) -> QwenImageEditPlusPipeline:
    """The tiny pipeline in memory (float32, CPU); ``zero_cond_t`` makes it an Edit-2511."""
    tokenizer = build_tokenizer(work_dir / "tokenizer-source")
    torch.manual_seed(seed)
    transformer = QwenImageTransformer2DModel(
        patch_size=2,
        in_channels=16,
        out_channels=4,
        num_layers=2,
        attention_head_dim=16,
        num_attention_heads=3,
        joint_attention_dim=16,
        guidance_embeds=False,
        axes_dims_rope=(8, 4, 4),
        zero_cond_t=zero_cond_t,
    )
    z_dim = 4
    vae = AutoencoderKLQwenImage(
        base_dim=z_dim * 6,
        z_dim=z_dim,
        dim_mult=[1, 2, 4],
        num_res_blocks=1,
        temperal_downsample=[False, True],
        latents_mean=[0.0] * z_dim,
        latents_std=[1.0] * z_dim,
    )
    text_encoder = build_text_encoder(tokenizer)
    processor = ImageOnlyQwen2VLProcessor(image_processor=Qwen2VLImageProcessor(), tokenizer=tokenizer)
    return QwenImageEditPlusPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        processor=processor,
        transformer=transformer,
    )


def save_tiny_model(folder: Path, seed: int = 0, edit_2511: bool = False) -> Path:
    """Write the tiny pipeline to ``folder`` in diffusers layout, as the real download is laid out.

    The processor is then named as the real download names it (``transformers.Qwen2VLProcessor``);
    the backend reads that folder with its image-only class. ``edit_2511`` writes an Edit-2511
    (the same layout; its transformer config sets ``zero_cond_t``).
    """
    folder = Path(folder)
    pipeline = build_pipeline(folder.parent / f"{folder.name}-build", seed=seed, zero_cond_t=edit_2511)
    pipeline.save_pretrained(folder)
    _rewrite_json(folder / "model_index.json", "processor", ["transformers", "Qwen2VLProcessor"])
    for config in [*(folder / "processor").glob("*.json"), *(folder / "tokenizer").glob("*.json")]:
        _rewrite_json(config, "processor_class", "Qwen2VLProcessor")
    return folder


def _rewrite_json(path: Path, key: str, value: object) -> None:
    """Set ``key`` in the JSON object at ``path`` when it is there."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict) and key in data:
        data[key] = value
        path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def save_tiny_lora(
    model_folder: Path,
    path: Path,
    rank: int = 4,
    *,
    lightx2v_keys: bool = False,
    metadata: dict[str, str] | None = None,
) -> Path:
    """A random LoRA for the tiny transformer's attention projections.

    In diffusers' key format (``transformer.<module>.lora_A.weight``), or with ``lightx2v_keys`` in
    the format lightx2v publishes its Lightning LoRAs in (``diffusion_model.<module>.lora_down.weight``,
    ``.lora_up.weight`` and ``.alpha``); ``metadata`` goes into the safetensors header.
    """
    transformer = QwenImageTransformer2DModel.from_pretrained(model_folder / "transformer")
    generator = torch.Generator().manual_seed(0)
    weights = {}
    for name, module in transformer.named_modules():
        if name.startswith("transformer_blocks") and name.endswith(("attn.to_q", "attn.to_v")):
            down = torch.randn(rank, module.in_features, generator=generator)
            up = torch.randn(module.out_features, rank, generator=generator)
            if lightx2v_keys:
                weights[f"diffusion_model.{name}.lora_down.weight"] = down
                weights[f"diffusion_model.{name}.lora_up.weight"] = up
                weights[f"diffusion_model.{name}.alpha"] = torch.tensor(float(rank))
            else:
                weights[f"transformer.{name}.lora_A.weight"] = down
                weights[f"transformer.{name}.lora_B.weight"] = up
    save_file(weights, str(path), metadata=metadata)
    return path
