"""Using a trained model: `eventsnn predict` on files and `eventsnn stream` on live events.

- `model`: a checkpoint -> `InferenceModel` (config, classes, sensor, model in eval mode).
- `inputs`: which files, and each file -> model input (the cache's framing path).
- `predict`: batched prediction rows, CSV / JSON, class-folder accuracy.
- `windows`: sliding windows over an event stream (by time or event count).
- `stream`: sources (an .aedat4 replay, a dv-processing network stream) and live decisions.
"""

from eventsnn.inference.inputs import InputSpec, expand_inputs, prepare_input, recording_sensor
from eventsnn.inference.model import InferenceModel, load_inference_model
from eventsnn.inference.predict import (
    OUTPUT_SUFFIXES,
    Prediction,
    PredictTimes,
    folder_accuracy,
    format_row,
    predict_files,
    top_k,
    write_predictions,
)

__all__ = [
    "OUTPUT_SUFFIXES",
    "InferenceModel",
    "InputSpec",
    "PredictTimes",
    "Prediction",
    "expand_inputs",
    "folder_accuracy",
    "format_row",
    "load_inference_model",
    "predict_files",
    "prepare_input",
    "recording_sensor",
    "top_k",
    "write_predictions",
]
