"""A user-supplied OpenVINO object detector (IR .xml/.bin or ONNX) for plates or bars: preprocessing and decoding.

No manifest or sha256 here: the model is the user's, so it is checked by what OpenVINO can read and
by its shapes. Input preprocessing follows Model Optimizer's convention, ``(pixel - mean) / scale``
per channel, in BGR or RGB order, after a stretch (SSD) or a letterbox (YOLO) to the input size.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt
import openvino as ov

from replens.device_agent.inference.openvino_model import InferenceSettings, compile_on_device, read_user_model
from replens.device_agent.trackers.barbell.boxes import Boxes, InputMap
from replens.errors import ConfigError, ModelError

log = logging.getLogger(__name__)
OutputKind = Literal["auto", "ssd", "yolo"]
Layout = Literal["auto", "NCHW", "NHWC"]
Resize = Literal["stretch", "letterbox"]
LETTERBOX_FILL = 114  # grey border of the Ultralytics letterbox


def _output_kind(shape: ov.PartialShape) -> str | None:
    """``ssd`` for [1, 1, N, 7] DetectionOutput, ``yolo`` for a rank-3 head, else None."""
    rank = shape.rank.get_length() if shape.rank.is_static else 0
    if rank == 4 and shape[3].is_static and shape[3].get_length() == 7:
        return "ssd"
    return "yolo" if rank == 3 else None


class ObjectDetector:
    """Boxes in frame pixels from one frame, best first, only the configured class ids.

    Args:
        model_path: IR ``.xml`` (with its ``.bin`` beside it) or ``.onnx``.
        labels: class ids to keep (the model's numbering; SSDs count the background as 0); None keeps all.
        score_threshold: lower finds more (and more false) boxes; the tracker rejects most strays.
        input_size: (w, h) network input; None takes it from the model (required when it is dynamic).
        mean_values: per-channel mean subtracted, in the model's channel order.
        scale: divisor after the mean (255 for models that expect 0..1).
        rgb: feed RGB instead of OpenCV's BGR.
        layout: input tensor layout; auto reads it from the channel dimension (3).
        resize: stretch or letterbox; None: stretch for SSD, letterbox for YOLO.
        output: ssd, yolo or auto (from the output's shape).
        iou_threshold: YOLO non-maximum suppression.

    Raises:
        ModelError: the file is missing or unreadable, or its inputs and outputs are not a detector's.
        ConfigError: the device is absent, or the configured input size contradicts a static model.
    """

    def __init__(
        self,
        model_path: Path | str,
        *,
        labels: Sequence[int] | None = None,
        score_threshold: float = 0.5,
        input_size: tuple[int, int] | None = None,
        mean_values: tuple[float, float, float] = (0.0, 0.0, 0.0),
        scale: float | tuple[float, float, float] = 1.0,
        rgb: bool = False,
        layout: Layout = "auto",
        resize: Resize | None = None,
        output: OutputKind = "auto",
        iou_threshold: float = 0.45,
        device: str = "CPU",
        precision: str = "f32",
        threads: int = 1,
        core: ov.Core | None = None,
    ) -> None:
        self.path = Path(model_path)
        self.labels = None if labels is None else tuple(labels)
        self.score_threshold, self.iou_threshold, self.rgb = score_threshold, iou_threshold, rgb
        self._mean = np.asarray(mean_values, np.float32)
        self._scale = np.broadcast_to(np.asarray(scale, np.float32), (3,)).copy()
        if not np.all(self._scale > 0):
            raise ConfigError(f"{self.path}: scale must be > 0 (got: {scale})")
        core = core or ov.Core()
        model = read_user_model(self.path, core)
        self.layout, self.input_size = self._fit_input(model, layout, input_size)
        compiled = compile_on_device(core, model, InferenceSettings(device, precision, threads), self.path)
        self.output_kind, self._output_index = self._pick_output(compiled, output)
        self.resize: Resize = resize or ("stretch" if self.output_kind == "ssd" else "letterbox")
        self._dtype = np.dtype(compiled.input(0).get_element_type().to_dtype())
        self._request = compiled.create_infer_request()
        log.info("detector %s: %s output, input %dx%d %s, %s on %s", self.path, self.output_kind,
                 *self.input_size, self.layout, self.resize, device)

    def _fit_input(
        self, model: ov.Model, layout: Layout, input_size: tuple[int, int] | None
    ) -> tuple[str, tuple[int, int]]:
        """The input's layout and (w, h); a dynamic input is reshaped to ``input_size``."""
        if len(model.inputs) != 1:
            raise ModelError(f"{self.path}: a detector with one image input is expected, got {len(model.inputs)}")
        shape = model.input(0).get_partial_shape()
        if not shape.rank.is_static or shape.rank.get_length() != 4:
            raise ModelError(f"{self.path}: image input must have rank 4, got {shape}")
        dims = [d.get_length() if d.is_static else None for d in shape]
        if layout == "auto":
            layout = "NCHW" if dims[1] == 3 else "NHWC" if dims[3] == 3 else layout
            if layout == "auto":
                raise ModelError(f"{self.path}: cannot tell NCHW from NHWC in input {shape}; set layout")
        h_i, w_i = (2, 3) if layout == "NCHW" else (1, 2)
        model_size = (dims[w_i], dims[h_i])
        if input_size is None:
            if model_size[0] is None or model_size[1] is None:
                raise ConfigError(f"{self.path}: the model's input size is dynamic ({shape}); set input_size")
            return layout, (model_size[0], model_size[1])
        if None not in model_size and model_size != input_size:
            raise ConfigError(f"{self.path}: input is {model_size[0]}x{model_size[1]}, config says "
                              f"{input_size[0]}x{input_size[1]}")
        if None in model_size:
            static = [1, 3, input_size[1], input_size[0]] if layout == "NCHW" else [1, input_size[1], input_size[0], 3]
            try:
                model.reshape({model.input(0): ov.PartialShape(static)})
            except RuntimeError as err:
                raise ModelError(f"{self.path}: cannot reshape the input to {static}: {err}") from err
        return layout, input_size

    def _pick_output(self, compiled: ov.CompiledModel, wanted: OutputKind) -> tuple[str, int]:
        """The first output that is an SSD or YOLO head (of the wanted kind)."""
        shapes = [out.get_partial_shape() for out in compiled.outputs]
        for i, shape in enumerate(shapes):
            kind = _output_kind(shape)
            if kind is not None and wanted in ("auto", kind):
                return kind, i
        raise ModelError(f"{self.path}: no {wanted} detection output among {[str(s) for s in shapes]}")

    def preprocess(self, image_bgr: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.generic], InputMap]:
        """One frame → the input tensor and how frame pixels map onto it."""
        h, w = image_bgr.shape[:2]
        iw, ih = self.input_size
        if self.resize == "letterbox":
            k = min(iw / w, ih / h)
            nw, nh = max(1, round(w * k)), max(1, round(h * k))
            left, top = (iw - nw) // 2, (ih - nh) // 2
            canvas = np.full((ih, iw, 3), LETTERBOX_FILL, np.uint8)
            canvas[top : top + nh, left : left + nw] = cv2.resize(image_bgr, (nw, nh), interpolation=cv2.INTER_LINEAR)
            fit = InputMap((w, h), (iw, ih), (nw / w, nh / h), (float(left), float(top)))
        else:
            fit = InputMap.resize((w, h), (iw, ih))
            canvas = np.asarray(cv2.resize(image_bgr, (iw, ih), interpolation=cv2.INTER_LINEAR), np.uint8)
        pixels = canvas[:, :, ::-1] if self.rgb else canvas
        tensor = (pixels.astype(np.float32) - self._mean) / self._scale
        tensor = tensor.transpose(2, 0, 1)[None] if self.layout == "NCHW" else tensor[None]
        return np.ascontiguousarray(tensor.astype(self._dtype, copy=False)), fit

    def detect(self, image_bgr: npt.NDArray[np.uint8]) -> Boxes:
        tensor, fit = self.preprocess(image_bgr)
        self._request.infer({0: tensor})
        raw = np.array(self._request.get_output_tensor(self._output_index).data, dtype=np.float32)
        if self.output_kind == "ssd":
            return Boxes.from_ssd(raw, fit.frame_size, self.score_threshold, input_map=fit, labels=self.labels)
        return Boxes.from_yolo(raw, fit.frame_size, self.score_threshold, input_map=fit, labels=self.labels,
                               iou_threshold=self.iou_threshold)
