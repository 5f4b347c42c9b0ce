"""OpenVINO: ``openvino`` (timm's graph) and ``native+openvino`` (mixbench's), as IR (``.xml`` +
``.bin``) in the shared export cache.

* **Precision**: ``--precision`` becomes ``INFERENCE_PRECISION_HINT`` and the precision
  computed is read back from the compiled model. Left to itself OpenVINO lowers float32 to
  bfloat16 on CPUs that have it (and a float16 hint to bfloat16 where there is no float16),
  which moves the logits by about 1e-2: ``+defaults`` runs without the hint to show exactly
  that, and its row reports what it computed (``bf16 (asked fp32)``). What a plugin can
  compute in comes from its ``OPTIMIZATION_CAPABILITIES``; others are refused before
  anything runs.
* **Plugin**: CPU; ``+gpu`` runs OpenVINO's GPU plugin (Intel GPUs) where this OpenVINO has
  one, with the batch in host memory.
* **IR** by ``openvino.convert_model`` on the PyTorch module (OpenVINO's own front end, the
  route its documentation gives), cached in the shared export cache.
* **Settings** (:func:`compile_config`), the same for timm's graph and ours: the precision
  hint, ``torch.get_num_threads()`` inference threads. A fixed batch runs the faster of two
  ways, measured for each row when its batch is bound: one request over the batch with the
  latency hint (one stream), or one request per image with the throughput hint (several
  streams, started together) — at batch 16 on two cores the second was up to 1.4× faster on
  timm's graph, so a row that did not try it would be a weak baseline. Inputs and outputs are
  tensors shared with numpy/torch memory, so a timed call copies nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch

from mixbench.errors import NotSupportedHere
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
    modules = ("openvino",)
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
            raise NotSupportedHere(
                f"{implementation.name}: this OpenVINO has no {plugin} plugin device "
                f"(it has {', '.join(available) or 'none'})",
                hint="drop +gpu to run on the CPU" if plugin == "GPU" else "reinstall openvino",
            )
        if implementation.has("defaults"):
            # OpenVINO picks the precision itself; only the device is checked
            precision = dataclasses.replace(precision, name="fp32")
        super().check_request(implementation, precision, device)

    # ------------------------------------------------------------------ export and open

    def write(
        self, subject: Subject, request: Request, out: Path | None = None
    ) -> tuple[Path, dict[str, Any]]:
        """The IR of ``request`` (``.xml`` + ``.bin``), converted from the PyTorch module by
        ``openvino.convert_model`` (OpenVINO's own PyTorch front end, the route its docs give,
        and measured as fast as the ONNX route or faster): found in or written to the export
        cache, or written at ``out``."""
        import openvino

        from mixbench.runtimes.exports import ExportKey

        implementation = request.implementation
        native_form = not implementation.is_timm and implementation.optimize
        choices = GRAPH_FORM if native_form else {}
        module, source = subject.graph(
            implementation, device=torch.device("cpu"), dtype=torch.float32, **choices
        )
        key = ExportKey(
            model=subject.name,
            source=source,
            weights=subject.weights_name,
            batch=request.batch,
            image_size=subject.image_size,
            dtype="float32",
            opset=0,
            exporter="openvino.convert_model",
            target="cpu",
            form=exports.form_of(choices),
            config=subject.config_digest,
            format="openvino",
            versions=(*exports.library_versions(), ("openvino", openvino.__version__)),
        )
        info = exports.metadata(subject.resolved, key)
        precision = request.precision.name
        size = subject.image_size

        def write(target: Path) -> None:
            import warnings

            with warnings.catch_warnings():  # the tracer's deprecation notes
                warnings.simplefilter("ignore")
                model = openvino.convert_model(module, example_input=subject.images(2))
            batch = -1 if request.batch is None else request.batch
            model.reshape([batch, 3, size, size])
            for name, value in info.items():
                parts = name.split(".")
                model.set_rt_info(value, parts if parts[0] == "mixbench" else ["mixbench", *parts])
            if out is not None and not implementation.has("defaults"):
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
            "ir_file": str(path),
            "ir_cached": cached,
            "convert_seconds": None if cached else time.perf_counter() - started,
            "converter": "openvino.convert_model",
            "weights": subject.weights_name,
            "graph_form": key.form or None,
            "key": key,
            "weight_bytes": sum(p.numel() * p.element_size() for p in module.parameters()),
        }
        return path, made

    def build(self, subject: Subject, request: Request) -> Session:
        path, made = self.write(subject, request)
        session = self.open(path, request, made)
        session.cached_files = [path]
        return session

    def open(self, path: Path, request: Request, made: dict[str, Any] | None = None) -> Session:
        import numpy as np

        core = _core()
        implementation = request.implementation
        plugin = self.plugin(implementation)
        defaults = implementation.has("defaults")
        config = compile_config(request.precision.name, defaults=defaults)
        compiled = core.compile_model(core.read_model(str(path)), plugin, config)
        computed = _read_back(compiled)
        how = (
            "OpenVINO's default, INFERENCE_PRECISION_HINT read back"
            if defaults
            else f"INFERENCE_PRECISION_HINT={config['INFERENCE_PRECISION_HINT']}, read back"
        )
        infer = compiled.create_infer_request()
        details: dict[str, Any] = {
            "runtime": "openvino",
            "openvino": self.versions().get("openvino"),
            "plugin": plugin,
            "config": {k: str(v) for k, v in config.items()},
            "streams": int(compiled.get_property("NUM_STREAMS")),
            "threads": int(compiled.get_property("INFERENCE_NUM_THREADS")),
            "execution": "one request, the latency hint",
            **{k: v for k, v in (made or {}).items() if k != "weight_bytes"},
            "file": str(path),
        }

        def run(images: torch.Tensor) -> torch.Tensor:
            array = images.detach().float().cpu().contiguous().numpy()
            infer.infer({0: array})
            return torch.from_numpy(np.array(infer.get_output_tensor(0).data)).float()

        def bind(images: torch.Tensor) -> Callable[[], torch.Tensor]:
            single = _single_request(compiled, images)
            if images.shape[0] == 1:
                return single
            split = _per_image_requests(core, path, plugin, request, images, computed)
            if split is None:
                return single
            chosen, timings = _faster(single, split)
            details["execution_seconds_per_call"] = timings
            if chosen is split:
                details["execution"] = (
                    f"{images.shape[0]} requests of one image, the throughput hint, "
                    f"{split.streams} streams"  # type: ignore[attr-defined]
                )
                details["streams"] = split.streams  # type: ignore[attr-defined]
            return chosen

        return Session(
            run=run,
            bind=bind,
            precision=ComputedPrecision(computed, request.precision.name, how),
            provider=plugin,
            weight_bytes=(made or {}).get("weight_bytes", 0),
            details=details,
        )

    def notes(self, rows: Sequence[Any]) -> list[str]:
        lines = []
        for plugin in dict.fromkeys(r.provider for r in rows):
            mine = [r for r in rows if r.provider == plugin]
            details = mine[0].details
            executions = ", ".join(
                f"{r.implementation}: {r.details.get('execution')}" for r in mine
            )
            lines.append(
                f"openvino {details.get('openvino')}: {plugin} plugin, {details.get('threads')} "
                f"threads, IR by openvino.convert_model; each row runs its batch the faster way, "
                f"measured when it is bound (one request with the latency hint, or one request "
                f"per image with the throughput hint): {executions}"
            )
        return lines


def compile_config(
    precision: str, *, defaults: bool = False, hint: str = "LATENCY"
) -> dict[str, Any]:
    """What both graphs are compiled with (``defaults``: no precision hint)."""
    config: dict[str, Any] = {
        "PERFORMANCE_HINT": hint,
        "INFERENCE_NUM_THREADS": torch.get_num_threads(),
    }
    if hint == "LATENCY":
        config["NUM_STREAMS"] = 1
    if not defaults:
        config["INFERENCE_PRECISION_HINT"] = HINTS[precision]
    return config


def _read_back(compiled: Any) -> str:
    return canonical_precision(compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name())


def _single_request(compiled: Any, images: torch.Tensor) -> Callable[[], torch.Tensor]:
    """One request over the whole batch, its input shared with torch's memory."""
    import numpy as np
    import openvino

    array = np.ascontiguousarray(images.detach().float().cpu().numpy())
    request = compiled.create_infer_request()
    request.set_input_tensor(openvino.Tensor(array, shared_memory=True))

    def step() -> torch.Tensor:
        request.infer()
        return torch.from_numpy(request.get_output_tensor(0).data)

    step.keep = (array, request)  # type: ignore[attr-defined]
    return step


def _per_image_requests(
    core: Any, path: Path, plugin: str, request: Request, images: torch.Tensor, computed: str
) -> Callable[[], torch.Tensor] | None:
    """One request per image of the batch on a batch-1 model compiled with the throughput hint
    (several streams), started together and waited on together, each writing its row of one
    shared output: how OpenVINO's docs run a batch on a CPU. ``None`` when that compile
    computes in another precision than the single request's (then it is no alternative)."""
    import numpy as np
    import openvino

    model = core.read_model(str(path))
    model.reshape([1, 3, request.image_size, request.image_size])
    config = compile_config(
        request.precision.name,
        defaults=request.implementation.has("defaults"),
        hint="THROUGHPUT",
    )
    compiled = core.compile_model(model, plugin, config)
    if _read_back(compiled) != computed:
        return None
    batch = np.ascontiguousarray(images.detach().float().cpu().numpy())
    classes = int(compiled.outputs[0].get_partial_shape()[-1].get_length())
    output = np.empty((batch.shape[0], classes), dtype=np.float32)
    requests = []
    for index in range(batch.shape[0]):
        infer = compiled.create_infer_request()
        infer.set_input_tensor(openvino.Tensor(batch[index : index + 1], shared_memory=True))
        infer.set_output_tensor(openvino.Tensor(output[index : index + 1], shared_memory=True))
        requests.append(infer)
    result = torch.from_numpy(output)

    def step() -> torch.Tensor:
        for infer in requests:
            infer.start_async()
        for infer in requests:
            infer.wait()
        return result

    step.keep = (batch, output, requests, compiled)  # type: ignore[attr-defined]
    step.streams = int(compiled.get_property("NUM_STREAMS"))  # type: ignore[attr-defined]
    return step


#: calls per candidate and rounds when a row picks how to run its batch
CHOICE_CALLS, CHOICE_ROUNDS = 2, 3


def _faster(
    first: Callable[[], torch.Tensor], second: Callable[[], torch.Tensor]
) -> tuple[Callable[[], torch.Tensor], list[float]]:
    """The faster of two ways to run the same batch: each warmed up, then timed in alternating
    rounds (the best round of each counts, so a noisy moment does not decide); with the
    seconds per call of each."""
    for step in (first, second):
        step()
    best = [float("inf"), float("inf")]
    for _round in range(CHOICE_ROUNDS):
        for position, step in enumerate((first, second)):
            started = time.perf_counter()
            for _ in range(CHOICE_CALLS):
                step()
            best[position] = min(best[position], (time.perf_counter() - started) / CHOICE_CALLS)
    return (first if best[0] <= best[1] else second), best


_CORE: list[Any] = []


def _core() -> Any:
    """One ``openvino.Core`` per process (creating one loads the plugins)."""
    if not _CORE:
        import openvino

        _CORE.append(openvino.Core())
    return _CORE[0]
