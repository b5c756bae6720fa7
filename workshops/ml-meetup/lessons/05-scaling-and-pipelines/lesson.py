# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: scaling-and-pipelines
#     title: "Scaling and pipelines: the bugs that raise no error"
#     level: intermediate
#     minutes: 35
#     tags: [scikit-learn, preprocessing, evaluation]
#     requires: [train-test-overfitting]
#     objectives:
#       - Explain why distance-based models need scaled features
#       - Chain imputation, scaling and a model in one Pipeline
#       - Tune settings with GridSearchCV on the training set only
#       - Recognise data leakage and remove it with a pipeline
#     kind: lesson
# ---

# %% [markdown] slideshow={"slide_type": "slide"}
# # Scaling and pipelines
#
# The worst ML bugs raise no error. The code runs, the score looks fine, and the model is
# wrong, or the score is a lie.
#
# Two classics today, on scikit-learn's **wine** data (178 wines, 13 lab measurements,
# 3 grape cultivars):
#
# 1. features on different scales
# 2. information leaking from the test folds into training

# %% [markdown] slideshow={"slide_type": "notes"}
# Intermediate lesson: assumes people know fit/predict and train/test splits. If the room is new,
# spend longer on the first plot and skip the grid search.

# %% tags=["parameters"]
quick = False  # papermill: -p quick True makes CI fast

# %% slideshow={"slide_type": "skip"}
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_wine
from sklearn.feature_selection import SelectKBest, f_classif
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import (
    GridSearchCV,
    StratifiedKFold,
    cross_val_score,
    train_test_split,
)
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

rng = np.random.default_rng(0)
n_folds = 3 if quick else 5
neighbour_grid = [1, 5, 15] if quick else [1, 3, 5, 9, 15, 25]
n_noise_features = 500 if quick else 5_000  # columns of pure noise in the leakage demo

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Look at the scales

# %%
wine = load_wine(as_frame=True)
X, y = wine.data, wine.target
print(X.shape, "| wines per cultivar:", y.value_counts().sort_index().tolist())
X.iloc[:3, [0, 4, 10, 12]]

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### 13 features, 4 orders of magnitude

# %%
spread = X.std().sort_values()
fig, ax = plt.subplots(figsize=(6, 3.4))
ax.barh(spread.index, spread.values)
ax.set_xscale("log")
ax.set(xlabel="standard deviation (log scale)")
fig.tight_layout()
plt.show()

# %% [markdown] slideshow={"slide_type": "notes"}
# k-nearest neighbours measures distances between wines. A difference of 300 in proline swamps a
# difference of 0.2 in hue, so the model effectively looks at one or two columns only.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Same model, with and without scaling

# %%
folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=0)
raw = cross_val_score(KNeighborsClassifier(), X, y, cv=folds)
scaled_knn = make_pipeline(StandardScaler(), KNeighborsClassifier())
scaled = cross_val_score(scaled_knn, X, y, cv=folds)
print(f"k-NN on raw features:    {raw.mean():.1%}")
print(f"k-NN on scaled features: {scaled.mean():.1%}")

# %% [markdown] slideshow={"slide_type": "fragment"}
# `make_pipeline(StandardScaler(), model)` learns each column's mean and spread **inside each
# training fold**, then applies them to the held-out fold. That detail matters later.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Real data has gaps
#
# Knock out 5% of the values at random, as a messy lab export would, and put an imputer in
# front. The pipeline is the whole recipe, from raw table to prediction.

# %%
X_gappy = X.mask(rng.random(X.shape) < 0.05)
print("missing values:", int(X_gappy.isna().sum().sum()))
recipe = make_pipeline(
    SimpleImputer(strategy="median"), StandardScaler(), KNeighborsClassifier()
)
gappy_scores = cross_val_score(recipe, X_gappy, y, cv=folds)
print(f"pipeline on gappy data: {gappy_scores.mean():.1%}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Tune it, on the training set only
#
# `GridSearchCV` tries every setting with cross-validation. Step names are the lower-cased class
# names, and `step__parameter` reaches inside.

# %%
X_train, X_test, y_train, y_test = train_test_split(
    X_gappy, y, test_size=0.25, random_state=0, stratify=y
)
grid = {"kneighborsclassifier__n_neighbors": neighbour_grid}
search = GridSearchCV(recipe, grid, cv=folds)
search.fit(X_train, y_train)
print("best setting:", search.best_params_)
print(f"cross-validated: {search.best_score_:.1%}")
print(f"test, opened once: {search.score(X_test, y_test):.1%} of {len(y_test)} wines")

# %% [markdown] slideshow={"slide_type": "notes"}
# For your own data with text columns, the same idea extends with `ColumnTransformer`: one small
# pipeline for numeric columns (impute + scale), one for categorical (impute + one-hot), then the
# model. The shape of the code does not change.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercise 1: a linear model in the pipeline
#
# Build a pipeline of `SimpleImputer`, `StandardScaler` and `LogisticRegression(max_iter=1000)`
# and print its cross-validated accuracy on `X_gappy`. Does it beat k-NN?

# %% tags=["exercise"]
# linear = make_pipeline(...)

# %% tags=["solution"]
linear = make_pipeline(
    SimpleImputer(strategy="median"),
    StandardScaler(),
    LogisticRegression(max_iter=1000),
)
linear_scores = cross_val_score(linear, X_gappy, y, cv=folds)
print(f"logistic regression: {linear_scores.mean():.1%}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Leakage: a score that lies
#
# 100 "patients", thousands of random measurements, labels from a coin flip. There is
# **nothing** to learn, so honest accuracy must be about 50%.
#
# The tempting workflow: pick the 20 columns most related to the label, *then* cross-validate.

# %%
noise_rng = np.random.default_rng(2)  # its own seed: independent of the cells above
X_noise = noise_rng.normal(size=(100, n_noise_features))
y_noise = noise_rng.integers(0, 2, size=100)

selector = SelectKBest(f_classif, k=20)
best_columns = selector.fit_transform(X_noise, y_noise)  # sees all labels!
leaky = cross_val_score(LogisticRegression(), best_columns, y_noise, cv=folds)
print(f"leaky workflow: {leaky.mean():.0%} accuracy on coin flips")

# %% [markdown] slideshow={"slide_type": "notes"}
# The selection step looked at every label, including those of the future test folds, and kept the
# columns that happen to match them. Real-world version: scaling, imputing or selecting features on
# the full data set before splitting. Papers have been retracted for this.

# %% [markdown] slideshow={"slide_type": "subslide"}
# ## Exercise 2: fix the leak
#
# Write `honest_accuracy(X, y)`: the same selection and model, but as one pipeline passed to
# `cross_val_score`, so the selection only ever sees training folds.

# %% tags=["exercise"]
def honest_accuracy(X, y):
    """Cross-validated accuracy of: 20 best columns, then logistic regression."""
    # BEGIN SOLUTION
    pipeline = make_pipeline(SelectKBest(f_classif, k=20), LogisticRegression())
    return cross_val_score(pipeline, X, y, cv=folds).mean()
    # END SOLUTION


# %%
honest = honest_accuracy(X_noise, y_noise)
print(f"honest workflow: {honest:.0%} accuracy on coin flips")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Recap
#
# - distance-based and gradient-based models need scaled features
# - put **every** step that learns from data (imputer, scaler, selector) inside the pipeline
# - tune with `GridSearchCV` on the training set; open the test set once
# - a suspiciously good score is a bug report: look for leakage first
