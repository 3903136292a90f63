"""echoanalyzer: thin Python bindings (ctypes, no compiler) over the EchoAnalyzer C ABI (libechoanalyzer.so).

    import echoanalyzer as ea
    model = ea.Model()                        # the installed reference model
    result = model.analyze_file("study.dcm")  # AnalysisResult: plain values and numpy arrays
    print(result.ef_percent, result.text_en)

Every result is a second opinion that a clinician must confirm. See docs/python.md.
"""
from ._api import (AnalysisResult, Beat, BeatEvent, Cine, CineInfo, Classification, DicomObject, EchoError, FrameResult,
                   Keyframe, Model, ModelInfo, QualityReason, Session, VlmAnswer, abi_version, status_name, version)
from ._native import library_path
from ._validate import ValidationSummary, validate

__all__ = ["AnalysisResult", "Beat", "BeatEvent", "Cine", "CineInfo", "Classification", "DicomObject", "EchoError", "FrameResult",
           "Keyframe", "Model", "ModelInfo", "QualityReason", "Session", "VlmAnswer", "abi_version", "library_path",
           "status_name", "version"]
__all__ += ["ValidationSummary", "validate"]
__version__ = version()
