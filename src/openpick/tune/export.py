"""`openpick tune ... --export gguf`: merge the adapter into its base and write a GGUF file
the llama-cpp engine loads.

The route taken when the base is itself a GGUF (the embedded SmolLM2 is): the new file
keeps the base's metadata (architecture, hyperparameters, tokenizer, chat template) and its
tensor names and order; each tensor's data is the merged model's weight under that name.
transformers' GGUF loader names the mapping (get_gguf_hf_weights_map) and, for llama-type
models, reorders the rows of attn_q / attn_k on load (llama.cpp stores them in its own rotary
layout); the export applies that reordering back. One-dimensional tensors (norms) stay
float32, as llama.cpp's own converter keeps them; the rest are f16 or q8_0.

The exported model is registered as a model of its own, `NAME-gguf` (tuned/NAME-gguf/:
model.gguf and a tune.json whose `model` entry says llama-cpp), with a catalog record whose
base_model_relation is finetune: merged weights are no longer an adapter.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from openpick.errors import InvalidInput, NotFound, missing_extra
from openpick.tune.config import MANIFEST, BaseIdentity, TuneConfig, read_manifest, tuned_dir

QUANTS = ("f16", "q8_0")
SUFFIX = "-gguf"
# general.file_type values (llama.cpp's LLAMA_FTYPE): MOSTLY_F16 = 1, MOSTLY_Q8_0 = 7
FILE_TYPE = {"f16": 1, "q8_0": 7}


def _rope_layout(w, n_head: int):
    """transformers' rows of attn_q/attn_k → llama.cpp's: per head, the two halves of the
    rotary dimension are interleaved again (the inverse of the loader's reordering)."""
    half = w.shape[0] // n_head // 2
    return w.reshape(n_head, 2, half, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def merged_model(manifest: dict):
    """The tuned model as one plain transformers model in float32 (adapter merged)."""
    from openpick.tune.train import load_base

    base = BaseIdentity.model_validate(manifest["base"])
    folder = tuned_dir(manifest["name"])
    job = TuneConfig.model_validate(manifest["config"])
    if manifest["method"] == "lora":
        try:
            from peft import PeftModel
        except ImportError:
            raise missing_extra("peft", "tune") from None
        model, tok = load_base(job.model_copy(update={"base": base}), "cpu")
        model = PeftModel.from_pretrained(model, str(folder / "adapter")).merge_and_unload()
    else:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        model = AutoModelForCausalLM.from_pretrained(str(folder / "model"), dtype=torch.float32)
        tok = AutoTokenizer.from_pretrained(str(folder / "model"))
    return model.eval(), tok


def write_gguf(model, base_gguf: Path, out: Path, quant: str, name: str) -> Path:
    """The merged `model` as a GGUF shaped like `base_gguf` (metadata, names, order)."""
    import numpy as np
    from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType, GGUFWriter
    from gguf.quants import quantize
    from transformers.modeling_gguf_pytorch_utils import TensorProcessor, get_gguf_hf_weights_map

    reader = GGUFReader(str(base_gguf))
    arch = reader.fields["general.architecture"].contents()
    names = get_gguf_hf_weights_map(model, TensorProcessor())
    state = model.state_dict()
    n_head = model.config.num_attention_heads
    n_kv = getattr(model.config, "num_key_value_heads", None) or n_head
    llama_like = arch in ("llama", "mistral")
    tmp = out.with_name(f".tmp-{out.name}-{os.getpid()}")
    writer = GGUFWriter(str(tmp), arch)
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key in ("general.architecture", "general.file_type",
                                              "general.name"):
            continue
        vtype = field.types[0]
        sub = field.types[-1] if vtype == GGUFValueType.ARRAY else None
        writer.add_key_value(key, field.contents(), vtype, sub)
    writer.add_name(name)
    writer.add_file_type(FILE_TYPE[quant])
    for t in reader.tensors:
        hf = names.get(t.name)
        if hf is None or hf not in state:
            raise InvalidInput(f"cannot export: the base GGUF's tensor {t.name} has no "
                               "counterpart in the merged model", path=str(base_gguf))
        w = state[hf].detach().float().cpu().numpy()
        if llama_like and ".attn_q." in t.name:
            w = _rope_layout(w, n_head)
        elif llama_like and ".attn_k." in t.name:
            w = _rope_layout(w, n_kv)
        if w.ndim == 1:
            writer.add_tensor(t.name, np.ascontiguousarray(w, dtype=np.float32))
        elif quant == "f16":
            writer.add_tensor(t.name, np.ascontiguousarray(w, dtype=np.float16))
        else:
            q = quantize(np.ascontiguousarray(w, dtype=np.float32), GGMLQuantizationType.Q8_0)
            writer.add_tensor(t.name, q, raw_shape=q.shape, raw_dtype=GGMLQuantizationType.Q8_0)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    os.replace(tmp, out)
    return out


def export_gguf(name: str, quant: str = "f16") -> dict:
    """Merge NAME and write tuned/NAME-gguf/model.gguf; register it. Returns its manifest."""
    from openpick.catalog.catalog import write_atomic
    from openpick.engines import hashing
    from openpick.tune.record import save_record

    if quant not in QUANTS:
        raise InvalidInput(f"--export-quant {quant!r}: use {' or '.join(QUANTS)}")
    manifest = read_manifest(name)
    if manifest is None:
        raise NotFound(f"no tuned model {name!r} to export")
    base = BaseIdentity.model_validate(manifest["base"])
    if not base.gguf_file:
        raise InvalidInput(f"--export gguf needs a GGUF base (the new file copies its "
                           f"tokenizer and metadata); {name!r} was tuned from the folder "
                           f"{base.folder}: convert that with llama.cpp's convert_hf_to_gguf.py")
    model, _ = merged_model(manifest)
    folder = tuned_dir(name + SUFFIX)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    out = write_gguf(model, base.path(), folder / "model.gguf", quant, name)
    exported = {
        **{k: v for k, v in manifest.items() if k not in ("model", "record_id", "name")},
        "name": name + SUFFIX, "record_id": f"{manifest['record_id']}{SUFFIX}",
        "method": "merged", "export": {"of": name, "format": "gguf", "quant": quant,
                                       "sha256": hashing.file_sha256(out)},
        "model": {"engine": "llama-cpp", "target": "model.gguf", "options": {}},
    }
    write_atomic(folder / MANIFEST, json.dumps(exported, indent=2))
    save_record(exported)
    return exported
