"""The FastAPI equivalent of flask_app.py, run by uvicorn with 2 workers.

    MODEL_PATH=bench/work/serve/sk.pkl uvicorn --app-dir bench/serve fastapi_app:app --workers 2 --port 8000

Written the way FastAPI's docs write such an app: a pydantic model of the record (validated and typed by
FastAPI), plain `def` endpoints (scikit-learn blocks, so FastAPI runs them in its thread pool rather than on the
event loop), the record turned into a one-row DataFrame, one predict_proba call. A CSV body
(Content-Type: text/csv) goes to /predict/batch and every row of it is predicted.
"""

import io
import os
from typing import Optional

import joblib
import pandas as pd
from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

model = joblib.load(os.environ.get("MODEL_PATH", "model.pkl"))
FEATURES = list(model.feature_names_in_)
POSITIVE = list(model.classes_).index(max(model.classes_))

app = FastAPI(title="skill assignment")


class Assignment(BaseModel):
    emp_experience_years: Optional[float] = None
    emp_workload_ratio: Optional[float] = None
    emp_performance_rating: Optional[float] = None
    emp_active_tasks: Optional[float] = None
    emp_availability: Optional[str] = None
    task_priority: Optional[str] = None
    task_complexity_score: Optional[float] = None
    task_estimated_hours: Optional[float] = None
    task_urgency_score: Optional[float] = None
    skill_match_score: Optional[float] = None
    workload_compatibility: Optional[float] = None


class Prediction(BaseModel):
    prediction: int
    probability: float


class Predictions(BaseModel):
    predictions: list[Prediction]


def _predictions(frame):
    proba = model.predict_proba(frame[FEATURES])
    labels = model.classes_[proba.argmax(axis=1)]
    return [Prediction(prediction=int(label), probability=float(p)) for label, p in zip(labels, proba[:, POSITIVE])]


@app.get("/health")
def health():
    return {"status": "ok", "pid": os.getpid()}


@app.post("/predict", response_model=Prediction)
def predict(assignment: Assignment):
    return _predictions(pd.DataFrame([assignment.model_dump()]))[0]


@app.post("/predict/batch", response_model=Predictions)
async def predict_batch(request: Request):
    if request.headers.get("content-type", "").split(";")[0].strip() != "text/csv":
        raise HTTPException(status_code=415, detail="send the rows as text/csv")
    body = await request.body()
    # The parse and the forest block: off the event loop, as FastAPI does for plain `def` endpoints.
    frame = await run_in_threadpool(pd.read_csv, io.BytesIO(body))
    return Predictions(predictions=await run_in_threadpool(_predictions, frame))
