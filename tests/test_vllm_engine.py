"""rollout=vllm: a clear error without the extra or CUDA; a real run where both exist."""

import importlib.util

import pytest
import torch

from bench.rollout.vllm import require_vllm

HAS_VLLM = importlib.util.find_spec("vllm") is not None


@pytest.mark.skipif(HAS_VLLM and torch.cuda.is_available(), reason="vLLM and CUDA are both present")
def test_missing_vllm_or_cuda_names_the_fix():
    with pytest.raises(RuntimeError, match=r'pip install -e "\.\[vllm\]"|needs a CUDA GPU|not supported'):
        require_vllm()


@pytest.mark.gpu
@pytest.mark.skipif(not (HAS_VLLM and torch.cuda.is_available()), reason="needs vLLM and CUDA")
def test_vllm_engine_generates_and_syncs_weights(tmp_path):
    from bench.config import ModelConfig
    from bench.models import new_tiny_model
    from bench.rollout.types import Sampling
    from bench.rollout.vllm import VLLMEngine

    model, tokenizer = new_tiny_model(ModelConfig(name="tiny"), seed=0)
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    model.config._name_or_path = str(tmp_path)
    engine = VLLMEngine(model.cuda(), tokenizer, torch.device("cuda"), 64, gpu_memory_utilization=0.2, sleep=True)
    generation = engine.generate(["Q: 1+1?\nA: "], 4, Sampling(1.0, 1.0, 8), seed=0)
    assert generation.completion_ids.shape[0] == 4
    engine.sync_weights(model)
