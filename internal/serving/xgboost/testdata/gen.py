#!/usr/bin/python3
"""Regenerate the XGBoost fixtures the Go tests read.

Run with Debian's python (apt-get install python3-xgboost python3-sklearn):

    cd internal/serving/xgboost/testdata && /usr/bin/python3 gen.py

For each model it writes <name>.json (Booster.save_model, JSON format) and
<name>.expected.json: {"xgboost_version", "objective", "inputs": rows with
null for a missing value, "outputs": Booster.predict on those rows}.
unsupported_<name>.json are models the reader must refuse.
Training data gets some NaN cells so that trees learn default directions.
"""
import json

import numpy as np
import xgboost as xgb
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris

RNG = np.random.default_rng(7)


def with_missing(X, frac):
    X = X.astype(np.float64).copy()
    X[RNG.random(X.shape) < frac] = np.nan
    return X


def write(name, params, X, y, rounds):
    Xtrain = with_missing(X, 0.1)
    booster = xgb.train(params, xgb.DMatrix(Xtrain, label=y, missing=np.nan), rounds)
    booster.save_model(name + ".json")
    pick = X[RNG.choice(len(X), 40, replace=False)]
    rows = np.vstack([pick[:16], with_missing(pick[16:], 0.3)])
    rows[0, :] = np.nan  # a row with every value missing
    pred = booster.predict(xgb.DMatrix(rows, missing=np.nan))
    inputs = [[None if np.isnan(v) else float(v) for v in r] for r in rows]
    with open(name + ".expected.json", "w") as f:
        json.dump({"xgboost_version": xgb.__version__,
                   "objective": params["objective"],
                   "inputs": inputs,
                   "outputs": pred.astype(np.float64).tolist()}, f)
        f.write("\n")


def main():
    Xb, yb = load_breast_cancer(return_X_y=True)
    Xi, yi = load_iris(return_X_y=True)
    Xd, yd = load_diabetes(return_X_y=True)
    write("binary_logistic", {"objective": "binary:logistic", "max_depth": 3,
                              "eta": 0.3, "base_score": 0.3}, Xb, yb, 10)
    write("binary_logitraw", {"objective": "binary:logitraw", "max_depth": 3,
                              "base_score": 0.6}, Xb, yb, 5)
    write("reg_logistic", {"objective": "reg:logistic", "max_depth": 2},
          Xb, yb, 5)
    write("multi_softprob", {"objective": "multi:softprob", "num_class": 3,
                             "max_depth": 3}, Xi, yi, 8)
    write("multi_softmax", {"objective": "multi:softmax", "num_class": 3,
                            "max_depth": 2}, Xi, yi, 5)
    write("reg_squarederror", {"objective": "reg:squarederror", "max_depth": 4,
                               "base_score": float(np.mean(yd))}, Xd, yd, 12)
    write("random_forest", {"objective": "reg:squarederror", "max_depth": 3,
                            "num_parallel_tree": 4, "subsample": 0.8,
                            "colsample_bynode": 0.8, "eta": 1.0}, Xd, yd, 2)
    write_unsupported("gblinear", {"booster": "gblinear",
                                   "objective": "binary:logistic"}, Xb, yb, 2)
    write_unsupported("dart", {"booster": "dart", "max_depth": 2,
                               "objective": "binary:logistic"}, Xb, yb, 2)
    write_unsupported("poisson", {"objective": "count:poisson", "max_depth": 2},
                      Xd, yd, 2)


def write_unsupported(name, params, X, y, rounds):
    """Models the Go reader must refuse: only the model file is written."""
    booster = xgb.train(params, xgb.DMatrix(X, label=y), rounds)
    booster.save_model("unsupported_" + name + ".json")


if __name__ == "__main__":
    main()
