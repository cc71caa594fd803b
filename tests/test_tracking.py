"""wandb mirrors metrics.jsonl offline (no login, no network); logger=none never imports it."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import REPO, bench, bench_env
from tests.conftest import SMOKE

BLOCK, HEADER = 32 * 1024, 7  # LevelDB log blocks; the file opens with ':W&B' + magic + version


def wandb_records(path: Path) -> list:
    """Every protobuf Record of a .wandb transaction log (LevelDB log format), parsed with wandb's own schema."""
    from wandb.proto import wandb_internal_pb2

    data, pos, pending, records = path.read_bytes(), HEADER, b"", []
    assert data[:4] == b":W&B"
    while pos + 7 <= len(data):
        if BLOCK - pos % BLOCK < 7:  # block trailer too short for a chunk header
            pos += BLOCK - pos % BLOCK
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        if kind == 0:
            break
        pending += data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):  # FULL or LAST chunk
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            records.append(record)
            pending = b""
    return records


def test_wandb_offline_run_holds_the_logged_metrics_and_config(tmp_path):
    out = tmp_path / "run"
    result = bench("logger=wandb", f"hydra.run.dir={out}", WANDB_API_KEY="", WANDB_BASE_URL="http://127.0.0.1:9")
    assert result.returncode == 0, result.stderr[-3000:]
    [log_file] = out.glob("wandb/offline-run-*/run-*.wandb")
    records = wandb_records(log_file)

    run = next(r.run for r in records if r.WhichOneof("record_type") == "run")
    assert (run.display_name, run.run_group, run.project) == ("run", "default", "rlvr-bench")
    config = {item.key: json.loads(item.value_json) for item in run.config.update}
    assert config["algorithm"]["name"] == "grpo" and config["train"]["steps"] == 2

    history = []
    for r in records:
        if r.WhichOneof("record_type") == "history":
            history.append({"/".join(i.nested_key) or i.key: json.loads(i.value_json) for i in r.history.item})
    logged = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [h["_step"] for h in history] == [row["step"] for row in logged] == [1, 2]
    for row, h in zip(logged, history):
        for key, value in row.items():
            if key != "step":
                assert h[key] == pytest.approx(value, rel=1e-12), key


def test_logger_none_never_imports_wandb(tmp_path):
    script = (
        "import sys\nfrom bench.app import main\n"
        f"sys.argv = ['bench', *{SMOKE!r}, 'train.steps=1', 'hydra.run.dir={tmp_path / 'run'}']\n"
        "main()\nprint('wandb imported:', 'wandb' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=bench_env(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "wandb imported: False" in result.stdout
