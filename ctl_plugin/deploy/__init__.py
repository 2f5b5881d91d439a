"""Deployment of video models: ONNX export of the test feature (`tools/deploy`)."""
from .onnx_export import INPUT_NAMES, ClipEncoder, OnnxEncoder, example_inputs, export_onnx

__all__ = ["INPUT_NAMES", "ClipEncoder", "OnnxEncoder", "example_inputs", "export_onnx"]
