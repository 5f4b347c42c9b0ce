"""TensorRT on a GPU: ``tensorrt`` (timm's graph) and ``native+tensorrt`` (mixbench's).

* **Engine**: built from the ONNX file of the shared export cache, exported in the asked
  precision (float32, float16 or bfloat16), as a *strongly typed* network: the precision is
  the graph's, not a builder hint TensorRT may override layer by layer. The serialized engine
  is cached beside the ONNX file, keyed also by the TensorRT version and the GPU (an engine
  is specific to both). A fixed-batch engine for speed runs; an evaluation's engine has an
  optimisation profile from batch 1 to its batch.
* **Precision read back**: the engine inspector's per-layer information (the builder records
  it at ``ProfilingVerbosity.DETAILED``): the precision most convolution layers run in. float32
  with TF32 allowed (TensorRT's default on Ampere and later, as torch's) is reported as
  ``tf32``.
* **Run**: the input and output are torch CUDA tensors bound by address
  (``set_tensor_address``) and enqueued on torch's current stream (``execute_async_v3``), so a
  timed call copies nothing.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from mixbench.errors import InputError
from mixbench.measure.precision import ComputedPrecision
from mixbench.runtimes import exports
from mixbench.runtimes.base import Implementation, Request, Runtime, Session
from mixbench.runtimes.subject import Subject

#: optimize's choices for a native graph TensorRT runs: on a GPU both merges pay (depthwise
#: convolutions are memory-bound; one dense 1×1 beats several small grouped ones)
GRAPH_FORM = {"mixconv": "always", "grouped_pointwise": "always"}
#: the inspector's data type names → precisions, longest first ("BFloat16" holds "Float")
DATATYPES = {
    "BFloat16": "bf16",
    "BF16": "bf16",
    "Half": "fp16",
    "FP16": "fp16",
    "Float": "fp32",
    "FP32": "fp32",
}
#: the largest batch an evaluation engine takes (its profile's maximum)
EVAL_MAX_BATCH = 256


class TensorRt(Runtime):
    name = "tensorrt"
    token = "tensorrt"
    standalone = True
    label = "TensorRT"
    extra = "tensorrt"
    modules = ("tensorrt", "onnx")
    devices = ("cuda",)
    measures = frozenset()  # TensorRT allocates its own device memory

    def versions(self) -> dict[str, str]:
        found = {}
        try:
            import tensorrt

            found["tensorrt"] = str(tensorrt.__version__)
        except ImportError:
            pass
        return found

    def precisions(self, device: torch.device, implementation: Implementation) -> tuple[str, ...]:
        import tensorrt

        have = ["fp32", "fp16"]
        major = torch.cuda.get_device_capability(device)[0] if torch.cuda.is_available() else 0
        if int(str(tensorrt.__version__).split(".")[0]) >= 9 and major >= 8:
            have.insert(1, "bf16")  # Ampere and later
        return tuple(have)

    def build(self, subject: Subject, request: Request) -> Session:
        import tensorrt

        from mixbench.runtimes.onnxruntime import onnx_file

        source, made = onnx_file(subject, request, graph_form=GRAPH_FORM)
        gpu = torch.cuda.get_device_name(request.device)
        tf32 = bool(torch.backends.cudnn.allow_tf32)
        key = dataclasses.replace(
            made["key"],
            format="tensorrt",
            # an engine is specific to its GPU and TensorRT, and TF32 is built into it
            versions=(
                *made["key"].versions,
                ("tensorrt", str(tensorrt.__version__)),
                ("gpu", gpu),
                ("tf32", str(tf32)),
            ),
        )
        started = time.perf_counter()
        plan, cached = exports.cached_export(
            key,
            lambda target: target.write_bytes(build_engine(tensorrt, source, request, tf32=tf32)),
            request.cache,
        )
        logger = tensorrt.Logger(tensorrt.Logger.ERROR)
        engine = tensorrt.Runtime(logger).deserialize_cuda_engine(plan.read_bytes())
        if engine is None:
            raise InputError(
                f"TensorRT could not load the engine {plan}",
                hint="delete it (the cache rebuilds it), or check the TensorRT install",
            )
        computed, how = read_precision(engine, tensorrt, request.precision.name, tf32=tf32)
        session = engine_session(
            engine,
            request,
            ComputedPrecision(computed, request.precision.name, how, read_back="inspector" in how),
            details={
                "runtime": "tensorrt",
                "tensorrt": str(tensorrt.__version__),
                "engine_file": str(plan),
                "engine_cached": cached,
                "build_seconds": None if cached else time.perf_counter() - started,
                **{k: v for k, v in made.items() if k not in ("weight_bytes",)},
            },
            weight_bytes=made.get("weight_bytes", 0),
        )
        session.cached_files = [plan, source]
        return session

    def notes(self, rows: Sequence[Any]) -> list[str]:
        if not rows:
            return []
        details = rows[0].details
        return [
            f"tensorrt {details.get('tensorrt')}: strongly typed engines built from the ONNX "
            f"export (opset {details.get('opset')}), cached per GPU and TensorRT version"
        ]


def build_engine(tensorrt: Any, source: Path, request: Request, *, tf32: bool) -> bytes:
    """A serialized engine of the ONNX file ``source``: strongly typed, detailed layer
    information kept (for the read-back), a fixed batch or a profile from 1 to the eval
    maximum."""
    logger = tensorrt.Logger(tensorrt.Logger.ERROR)
    builder = tensorrt.Builder(logger)
    flags = 1 << int(tensorrt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    network = builder.create_network(flags)
    parser = tensorrt.OnnxParser(network, logger)
    if not parser.parse(source.read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise InputError(f"TensorRT cannot parse {source}: {errors}")
    config = builder.create_builder_config()
    config.profiling_verbosity = tensorrt.ProfilingVerbosity.DETAILED
    if not tf32:
        config.clear_flag(tensorrt.BuilderFlag.TF32)
    size = request.image_size
    if request.batch is None:
        profile = builder.create_optimization_profile()
        shape = (3, size, size)
        profile.set_shape(
            network.get_input(0).name,
            (1, *shape),
            (min(64, EVAL_MAX_BATCH), *shape),
            (EVAL_MAX_BATCH, *shape),
        )
        config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise InputError(f"TensorRT could not build an engine of {source}")
    return bytes(serialized)


def read_precision(engine: Any, tensorrt: Any, asked: str, *, tf32: bool) -> tuple[str, str]:
    """(computed precision, how it is known) from the engine inspector's layer information:
    the data type most convolution layers compute in."""
    try:
        inspector = engine.create_engine_inspector()
        text = inspector.get_engine_information(tensorrt.LayerInformationFormat.JSON)
        computed = convolution_precision(json.loads(text))
    except (AttributeError, ValueError, TypeError):
        computed = None
    if computed is None:
        declared = "tf32" if asked == "fp32" and tf32 else asked
        return declared, "the ONNX file's type (TensorRT gave no layer information)"
    if computed == "fp32" and tf32:
        return "tf32", "engine inspector: float32 convolutions, TF32 allowed"
    return computed, "engine inspector: the convolution layers' data type"


def convolution_precision(information: dict[str, Any]) -> str | None:
    """The precision most convolution layers of an engine's JSON layer information compute
    in (their outputs' data type), or ``None`` when it lists none."""
    found: Counter[str] = Counter()
    for layer in information.get("Layers", []):
        if not isinstance(layer, dict):
            continue
        kind = str(layer.get("LayerType", "")) + str(layer.get("Name", ""))
        if "onvolution" not in kind and "Conv" not in kind:
            continue
        for output in layer.get("Outputs", []):
            text = str(output.get("Format/Datatype", ""))
            for name, precision in DATATYPES.items():
                if name in text:
                    found[precision] += 1
                    break
    return found.most_common(1)[0][0] if found else None


def engine_session(
    engine: Any,
    request: Request,
    precision: ComputedPrecision,
    *,
    details: dict[str, Any],
    weight_bytes: int,
) -> Session:
    """A session over a deserialized engine: torch CUDA tensors bound by address."""
    context = engine.create_execution_context()
    names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
    import tensorrt

    inputs = [n for n in names if engine.get_tensor_mode(n) == tensorrt.TensorIOMode.INPUT]
    outputs = [n for n in names if n not in inputs]
    source, target = inputs[0], outputs[0]
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(
        request.precision.name, torch.float32
    )

    def bound(images: torch.Tensor) -> Callable[[], torch.Tensor]:
        if request.batch is None and images.shape[0] > EVAL_MAX_BATCH:
            raise InputError(
                f"TensorRT: a batch of {images.shape[0]} is over this engine's profile "
                f"(1 to {EVAL_MAX_BATCH})",
                hint=f"pass --batch {EVAL_MAX_BATCH} or less",
            )
        images = images.to(request.device, dtype).contiguous()
        if not context.set_input_shape(source, tuple(images.shape)):
            raise InputError(f"TensorRT refused the input shape {tuple(images.shape)}")
        shape = tuple(context.get_tensor_shape(target))
        output = torch.empty(shape, dtype=dtype, device=request.device)
        context.set_tensor_address(source, images.data_ptr())
        context.set_tensor_address(target, output.data_ptr())

        def step() -> torch.Tensor:
            if not context.execute_async_v3(torch.cuda.current_stream(request.device).cuda_stream):
                raise RuntimeError("TensorRT could not enqueue the engine")
            return output

        step.keep = (images, output)  # type: ignore[attr-defined]
        return step

    def run(images: torch.Tensor) -> torch.Tensor:
        return bound(images)().clone()

    return Session(
        run=run,
        bind=bound,
        precision=precision,
        provider=torch.cuda.get_device_name(request.device) if torch.cuda.is_available() else None,
        weight_bytes=weight_bytes,
        details=details,
    )
