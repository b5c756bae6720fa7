# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: train-test-overfitting
#     title: "Is your model honest? Train/test splits and overfitting"
#     level: beginner
#     minutes: 30
#     tags: [scikit-learn, evaluation, overfitting]
#     requires: [first-model]
#     objectives:
#       - Hold out a test set with train_test_split and explain why
#       - Recognise overfitting from training and test errors
#       - Choose model complexity with cross-validation, not with the test set
#       - Spot the danger of predicting outside the range of the training data
#     kind: lesson
# ---

# %% [markdown] slideshow={"slide_type": "slide"}
# # Is your model honest?
#
# A model that has seen the answers can score perfectly and still be useless.
#
# Today's data: a cup of coffee cooling on a desk, temperature read every couple of minutes.
# Question: **how flexible should the model be?**

# %% [markdown] slideshow={"slide_type": "notes"}
# Analogy that works: a student who memorised last year's exam answers. They ace that exam and fail
# a new one. The test set is the new exam; we must not let the model see it while studying.

# %% tags=["parameters"]
quick = False  # papermill: -p quick True makes CI fast

# %% slideshow={"slide_type": "skip"}
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_absolute_error
from sklearn.model_selection import KFold, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

max_degree = 8 if quick else 12  # most flexible model we try
n_folds = 3 if quick else 5  # cross-validation folds

# %%
df = pd.read_csv("coffee_cooling.csv")
print(df.shape, "| minutes", df["minutes"].min(), "to", df["minutes"].max())
X = df[["minutes"]]  # a 2-D table with one column, as scikit-learn expects
y = df["temperature_c"]

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Hide some data from the model
#
# `train_test_split` shuffles the rows and keeps a share back. `random_state` makes the shuffle
# the same on every laptop.

# %%
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.35, random_state=0
)
print("train:", X_train.shape, " test:", X_test.shape)

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Flexible models: polynomials
#
# `make_pipeline` chains steps: scale the minutes, add powers `t, t², …, tᵈ`, fit a line
# through all of them. Higher degree `d` = a wigglier curve.

# %%
def polynomial(degree):
    return make_pipeline(
        StandardScaler(), PolynomialFeatures(degree), LinearRegression()
    )


line = polynomial(1).fit(X_train, y_train)
train_mae = mean_absolute_error(y_train, line.predict(X_train))
test_mae = mean_absolute_error(y_test, line.predict(X_test))
print(f"degree 1: train error {train_mae:.2f} °C, test error {test_mae:.2f} °C")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Turn the flexibility knob

# %%
degrees = list(range(1, max_degree + 1))
train_err, test_err = [], []
for d in degrees:
    model = polynomial(d).fit(X_train, y_train)
    train_err.append(mean_absolute_error(y_train, model.predict(X_train)))
    test_err.append(mean_absolute_error(y_test, model.predict(X_test)))
print("degree:    ", " ".join(f"{d:5d}" for d in degrees))
print("train (°C):", " ".join(f"{e:5.2f}" for e in train_err))
print("test  (°C):", " ".join(f"{e:5.2f}" for e in test_err))

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Underfitting, just right, overfitting

# %%
fig, ax = plt.subplots(figsize=(6, 3.2))
ax.plot(degrees, train_err, "o-", label="train")
ax.plot(degrees, test_err, "s-", label="test")
ax.set(xlabel="polynomial degree", ylabel="mean absolute error (°C)")
ax.legend()
plt.show()

# %% [markdown] slideshow={"slide_type": "notes"}
# Training error only ever goes down; test error goes down, then up. The bottom of the test
# curve is the sweet spot: flexible enough for the curve, not so flexible it fits the noise.

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### What the curves look like

# %%
grid = pd.DataFrame({"minutes": np.linspace(0, 60, 200)})
fig, ax = plt.subplots(figsize=(6, 2.9))
ax.scatter(X_train["minutes"], y_train, c="k", s=15, label="train")
ax.scatter(X_test["minutes"], y_test, facecolors="none", edgecolors="r", label="test")
for d in (1, 4, max_degree):
    curve = polynomial(d).fit(X_train, y_train).predict(grid)
    ax.plot(grid["minutes"], curve, label=f"degree {d}")
ax.set(xlabel="minutes", ylabel="°C", ylim=(10, 100))
ax.legend(fontsize=8, ncol=2)
plt.show()

# %% [markdown] slideshow={"slide_type": "notes"}
# The most flexible curve threads through the black training points and swings wildly between
# them, so the red test points land far from it. Degree 1 misses the bend entirely.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercise 1: is one test set enough?
#
# Repeat the loop with `random_state` 0 to 4 in `train_test_split`. Which degree has the lowest
# test error each time?

# %% tags=["exercise"]
# for seed in range(5):
#     ...

# %% tags=["solution"]
for seed in range(5):
    Xa, Xb, ya, yb = train_test_split(X, y, test_size=0.35, random_state=seed)
    errors = [
        mean_absolute_error(yb, polynomial(d).fit(Xa, ya).predict(Xb)) for d in degrees
    ]
    print(f"random_state={seed}: best degree {degrees[int(np.argmin(errors))]}")

# %% [markdown] slideshow={"slide_type": "notes"}
# The answer moves around: ten test points are a noisy judge. And if we pick the degree by looking
# at the test set, the test set is no longer unseen. Both problems lead to cross-validation.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Cross-validation: choose without touching the test set
#
# Split the **training** data into folds; each fold takes a turn as a mini test set.

# %%
folds = KFold(n_splits=n_folds, shuffle=True, random_state=0)
cv_err = []
for d in degrees:
    scores = cross_val_score(polynomial(d), X_train, y_train, cv=folds,
                             scoring="neg_mean_absolute_error")
    cv_err.append(-scores.mean())  # scikit-learn maximises scores: errors come negated
best_degree = degrees[int(np.argmin(cv_err))]
print("CV error (°C):", " ".join(f"{e:.3g}" for e in cv_err))
print("best degree by cross-validation:", best_degree)

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Open the test set once, at the very end

# %%
final = polynomial(best_degree).fit(X_train, y_train)
final_mae = mean_absolute_error(y_test, final.predict(X_test))
print(f"degree {best_degree}: test error {final_mae:.2f} °C")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercise 2: predicting the future
#
# Fit each degree on the **first 30 minutes only**, then predict minute 60.
# The real coffee is at about 25 °C by then. What do the models say?

# %% tags=["exercise"]
early = df[df["minutes"] <= 30]


def fit_early(degree):
    """Return a polynomial model of this degree fitted on the first 30 minutes."""
    # BEGIN SOLUTION
    return polynomial(degree).fit(early[["minutes"]], early["temperature_c"])
    # END SOLUTION


for d in (1, 2, 3, 4):
    at_60 = fit_early(d).predict(pd.DataFrame({"minutes": [60]}))[0]
    print(f"degree {d}: {at_60:8.1f} °C at minute 60")

# %% [markdown] slideshow={"slide_type": "notes"}
# No polynomial knows that coffee stops at room temperature. A test set drawn from the same 30
# minutes would never warn you. Ask: where does your own data stop, and where will the model be used?

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Recap
#
# - never judge a model on the data it was trained on
# - training error always falls with flexibility; test error falls, then rises: **overfitting**
# - choose settings with cross-validation on the training set; open the test set once
# - a model is only trustworthy inside the range of its training data
