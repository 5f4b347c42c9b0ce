"""OpenVINO: ``openvino`` (timm's graph) and ``native+openvino`` (mixbench's), from the shared
export cache: the ONNX file of the same key, converted once into IR (``.xml`` + ``.bin``).

* **Precision**: ``--precision`` becomes ``INFERENCE_PRECISION_HINT`` and the precision
  computed is read back from the compiled model. Left to itself OpenVINO lowers float32 to
  bfloat16 on CPUs that have it (and a float16 hint to bfloat16 where there is no float16),
  which moves the logits by about 1e-2: ``+defaults`` runs without the hint to show exactly
  that, and its row reports what it computed (``bf16 (asked fp32)``). What a plugin can
  compute in comes from its ``OPTIMIZATION_CAPABILITIES``; others are refused before
  anything runs.
* **Plugin**: CPU; ``+gpu`` runs OpenVINO's GPU plugin (Intel GPUs) where this OpenVINO has
  one, with the batch in host memory.
* **Settings** (:func:`compile_config`), the same for timm's graph and ours: the latency
  hint, one stream, ``torch.get_num_threads()`` inference threads; one preallocated input
  tensor shared with torch's memory, so a timed call copies nothing in.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch

from mixbench.errors import InputError
from mixbench.measure.precision import ComputedPrecision, canonical_precision
from mixbench.runtimes import exports
from mixbench.runtimes.base import Implementation, Request, Runtime, Session
from mixbench.runtimes.subject import Subject

#: ``OPTIMIZATION_CAPABILITIES`` entries → the precisions they let a plugin compute in
CAPABILITIES = {"FP32": "fp32", "BF16": "bf16", "FP16": "fp16"}
#: ``--precision`` → ``INFERENCE_PRECISION_HINT``
HINTS = {"fp32": "f32", "bf16": "bf16", "fp16": "f16"}
#: optimize's choices for a native graph OpenVINO runs (its own fusions do the rest)
GRAPH_FORM = {"mixconv": "always", "grouped_pointwise": "never"}


class OpenVino(Runtime):
    name = "openvino"
    token = "openvino"
    standalone = True
    label = "OpenVINO"
    extra = "openvino"
    modules = ("openvino", "onnx")
    devices = ("cpu",)
    modifiers: ClassVar[dict[str, str]] = {
        "gpu": "OpenVINO's GPU plugin (Intel GPUs)",
        "defaults": "no precision hint: OpenVINO's own default precision (read back)",
    }
    format = "openvino"
    #: what ``mixbench export --to openvino`` writes: the hint in the IR's runtime options
    #: (float16 also compresses the weights)
    export_precisions = ("fp32", "bf16", "fp16")

    def versions(self) -> dict[str, str]:
        found = {}
        with contextlib.suppress(ImportError):
            import openvino

            found["openvino"] = openvino.__version__.split("-")[0]
        return found

    def ignores_precision(self, implementation: Implementation) -> bool:
        return implementation.has("defaults")

    def plugin(self, implementation: Implementation) -> str:
        return "GPU" if implementation.has("gpu") else "CPU"

    def precisions(self, device: torch.device, implementation: Implementation) -> tuple[str, ...]:
        plugin = self.plugin(implementation)
        capabilities = _core().get_property(plugin, "OPTIMIZATION_CAPABILITIES")
        found = [CAPABILITIES[c] for c in capabilities if c in CAPABILITIES]
        return tuple(p for p in ("fp32", "bf16", "fp16") if p in found)

    def check_request(self, implementation: Implementation, precision: Any, device: Any) -> None:
        self.require(f"--impl {implementation.name}")
        plugin = self.plugin(implementation)
        available = _core().available_devices
        if not any(name.split(".")[0] == plugin for name in available):
            raise InputError(
                f"{implementation.name}: this OpenVINO has no {plugin} plugin device "
                f"(it has {', '.join(available) or 'none'})",
                hint="drop +gpu to run on the CPU" if plugin == "GPU" else "reinstall openvino",
            )
        super().check_request(implementation, precision, device)

    # ------------------------------------------------------------------ export and open

    def write(
        self, subject: Subject, request: Request, out: Path | None = None
    ) -> tuple[Path, dict[str, Any]]:
        """The IR of ``request`` (``.xml`` + ``.bin``): converted from the ONNX file of the same
        key, found in or written to the export cache, or written at ``out``."""
        import openvino

        from mixbench.runtimes.onnxruntime import onnx_file

        as_float32 = dataclasses.replace(
            request, precision=dataclasses.replace(request.precision, name="fp32")
        )
        source, made = onnx_file(subject, as_float32, graph_form=GRAPH_FORM)
        key = dataclasses.replace(
            made["key"],
            format="openvino",
            versions=(*made["key"].versions, ("openvino", openvino.__version__)),
        )
        info = exports.metadata(subject.resolved, key)
        precision = request.precision.name

        def write(target: Path) -> None:
            model = openvino.convert_model(str(source))
            for name, value in info.items():
                parts = name.split(".")
                model.set_rt_info(value, parts if parts[0] == "mixbench" else ["mixbench", *parts])
            if out is not None and not request.implementation.has("defaults"):
                # a deployed IR compiles at the precision it was checked in
                model.set_rt_info(HINTS[precision], ["runtime_options", "INFERENCE_PRECISION_HINT"])
            openvino.save_model(
                model, str(target), compress_to_fp16=out is not None and precision == "fp16"
            )

        started = time.perf_counter()
        if out is not None:
            write(out)
            path, cached = out, False
        else:
            path, cached = exports.cached_export(key, write, request.cache)
        made = {
            **made,
            "ir_file": str(path),
            "ir_cached": cached,
            "convert_seconds": None if cached else time.perf_counter() - started,
            "key": key,
        }
        return path, made

    def build(self, subject: Subject, request: Request) -> Session:
        path, made = self.write(subject, request)
        return self.open(path, request, made)

    def open(self, path: Path, request: Request, made: dict[str, Any] | None = None) -> Session:
        import numpy as np

        core = _core()
        model = core.read_model(str(path))
        if request.batch is not None:
            model.reshape([request.batch, 3, request.image_size, request.image_size])
        implementation = request.implementation
        plugin = self.plugin(implementation)
        config = compile_config(request.precision.name, defaults=implementation.has("defaults"))
        compiled = core.compile_model(model, plugin, config)
        hint = compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()
        computed = canonical_precision(hint)
        how = (
            "OpenVINO's default, INFERENCE_PRECISION_HINT read back"
            if implementation.has("defaults")
            else f"INFERENCE_PRECISION_HINT={config['INFERENCE_PRECISION_HINT']}, read back"
        )
        infer = compiled.create_infer_request()

        def run(images: torch.Tensor) -> torch.Tensor:
            array = images.detach().float().cpu().contiguous().numpy()
            infer.infer({0: array})
            return torch.from_numpy(np.array(infer.get_output_tensor(0).data)).float()

        def bind(images: torch.Tensor) -> Callable[[], torch.Tensor]:
            import openvino

            array = np.ascontiguousarray(images.detach().float().cpu().numpy())
            request_ = compiled.create_infer_request()
            request_.set_input_tensor(openvino.Tensor(array, shared_memory=True))

            def step() -> torch.Tensor:
                request_.infer()
                return torch.from_numpy(request_.get_output_tensor(0).data)

            step.keep = (array, request_)  # type: ignore[attr-defined]
            return step

        return Session(
            run=run,
            bind=bind,
            precision=ComputedPrecision(computed, request.precision.name, how),
            provider=plugin,
            weight_bytes=(made or {}).get("weight_bytes", 0),
            details={
                "runtime": "openvino",
                "openvino": self.versions().get("openvino"),
                "plugin": plugin,
                "config": {k: str(v) for k, v in config.items()},
                "streams": int(compiled.get_property("NUM_STREAMS")),
                "threads": int(compiled.get_property("INFERENCE_NUM_THREADS")),
                "performance_hint": str(compiled.get_property("PERFORMANCE_HINT")),
                **{k: v for k, v in (made or {}).items() if k not in ("weight_bytes",)},
                "file": str(path),
            },
        )

    def notes(self, rows: Sequence[Any]) -> list[str]:
        lines = []
        for plugin in dict.fromkeys(r.provider for r in rows):
            mine = [r for r in rows if r.provider == plugin]
            details = mine[0].details
            lines.append(
                f"openvino {details.get('openvino')}: {plugin} plugin, "
                f"{details.get('performance_hint')} hint, {details.get('streams')} stream(s), "
                f"{details.get('threads')} threads; IR converted from the ONNX export (opset "
                f"{details.get('opset')})"
            )
        return lines


def compile_config(precision: str, *, defaults: bool = False) -> dict[str, Any]:
    """What both graphs are compiled with (``defaults``: no precision hint)."""
    config: dict[str, Any] = {
        "PERFORMANCE_HINT": "LATENCY",
        "NUM_STREAMS": 1,
        "INFERENCE_NUM_THREADS": torch.get_num_threads(),
    }
    if not defaults:
        config["INFERENCE_PRECISION_HINT"] = HINTS[precision]
    return config


_CORE: list[Any] = []


def _core() -> Any:
    """One ``openvino.Core`` per process (creating one loads the plugins)."""
    if not _CORE:
        import openvino

        _CORE.append(openvino.Core())
    return _CORE[0]
