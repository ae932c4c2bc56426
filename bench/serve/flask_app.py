"""The seeds' serving pattern: a Flask app around the pickled scikit-learn pipeline, run behind gunicorn.

    MODEL_PATH=bench/work/serve/sk.pkl gunicorn -w 2 -b 127.0.0.1:8000 --chdir bench/serve flask_app:app

Written the way such apps are: load the pickle once at import, turn the JSON record into a one-row DataFrame,
call predict_proba, answer with jsonify. One call to predict_proba per request (the class is the argmax of the
probabilities), so it is not slower than it has to be; no caching, no batching across requests, so it is not
faster than such apps are either. POST a CSV (Content-Type: text/csv) to predict every row of it.
"""

import io
import os

import joblib
import pandas as pd
from flask import Flask, jsonify, request

app = Flask(__name__)

model = joblib.load(os.environ.get("MODEL_PATH", "model.pkl"))
FEATURES = list(model.feature_names_in_)
POSITIVE = list(model.classes_).index(max(model.classes_))


def _predictions(frame):
    proba = model.predict_proba(frame[FEATURES])
    labels = model.classes_[proba.argmax(axis=1)]
    return [
        {"prediction": int(label), "probability": float(p)} for label, p in zip(labels, proba[:, POSITIVE])
    ]


@app.route("/health")
def health():
    return jsonify(status="ok", pid=os.getpid())


@app.route("/api/predict-assignment", methods=["POST"])
def predict_assignment():
    if request.mimetype == "text/csv":
        frame = pd.read_csv(io.BytesIO(request.get_data()))
        return jsonify(predictions=_predictions(frame))
    data = request.get_json()
    if not isinstance(data, dict):
        return jsonify(error="expected one JSON object"), 400
    missing = [f for f in FEATURES if f not in data]
    if missing:
        return jsonify(error=f"missing features: {', '.join(missing)}"), 400
    return jsonify(_predictions(pd.DataFrame([data]))[0])
