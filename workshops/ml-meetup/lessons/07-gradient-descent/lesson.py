# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: gradient-descent
#     title: "Gradient descent from scratch: how a model learns"
#     level: intermediate
#     minutes: 35
#     tags: [numpy, optimisation, classification, deep-learning]
#     requires: [arrays-and-plots, first-model]
#     objectives:
#       - Write logistic regression as a prediction function and a loss function
#       - Derive the gradient and check it against finite differences
#       - Train with a gradient-descent loop and read the loss curve
#       - Apply the training-set preprocessing to a brand-new example
#     kind: lesson
# ---

# %% [markdown] slideshow={"slide_type": "slide"}
# # Gradient descent from scratch
#
# `model.fit()` hides a loop: *predict, measure how wrong, nudge the weights, repeat*.
# Today we write that loop ourselves in NumPy. It is the same loop that trains GPT-sized
# networks.
#
# **Question:** will this pull request be merged?

# %% [markdown] slideshow={"slide_type": "notes"}
# The data is synthetic, generated from a made-up rule (small PRs with tests from regular
# contributors get merged), so we know there is signal to find. Let people guess the rule first.

# %% tags=["parameters"]
quick = False  # papermill: -p quick True makes CI fast

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

n_steps = 150 if quick else 1_000  # gradient-descent steps
learning_rate = 0.5

# %% [markdown] slideshow={"slide_type": "slide"}
# ## The data

# %%
df = pd.read_csv("pull_requests.csv")
print(df.shape, f"| merged: {df['merged'].mean():.0%}")
df.describe().loc[["mean", "min", "50%", "max"]].round(1)

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Make features a model can use
#
# `lines_changed` runs from 8 to over 1,000: a 1,000-line PR is not 10× "worse" than a
# 100-line one. Take the log. Then split, and standardise with the **training** statistics.

# %%
df["log10_lines"] = np.log10(df["lines_changed"])
features = ["log10_lines", "files_touched", "has_tests", "author_prior_prs"]
train, test = train_test_split(
    df, test_size=0.25, random_state=0, stratify=df["merged"]
)

mean, std = train[features].mean(), train[features].std()
X_train = ((train[features] - mean) / std).to_numpy()
X_test = ((test[features] - mean) / std).to_numpy()
y_train, y_test = train["merged"].to_numpy(), test["merged"].to_numpy()
print("X_train:", X_train.shape, " X_test:", X_test.shape)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## The model: a weighted sum, squashed
#
# `z = X @ w + b` can be any number. The **sigmoid** squashes it into a probability in (0, 1).

# %%
def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def predict_proba(w, b, X):
    return sigmoid(X @ w + b)


print("sigmoid of -4, 0, 4:", sigmoid(np.array([-4.0, 0.0, 4.0])).round(3))

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### The loss: how wrong, as one number
#
# **Log loss** punishes confident wrong answers hard: saying 1% for a PR that was merged costs
# `-log(0.01) ≈ 4.6`; saying 99% costs `0.01`.

# %%
def log_loss(w, b, X, y):
    p = np.clip(predict_proba(w, b, X), 1e-12, 1 - 1e-12)  # never take log(0)
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


w = np.zeros(len(features))
b = 0.0
start = log_loss(w, b, X_train, y_train)
print(f"loss with all-zero weights: {start:.4f} (= log 2: a coin flip)")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## The gradient: which way is downhill?
#
# For log loss with a sigmoid, the calculus collapses to something short:
# `∂loss/∂w = Xᵀ (p - y) / n` and `∂loss/∂b = mean(p - y)`.

# %%
def gradients(w, b, X, y):
    error = predict_proba(w, b, X) - y  # (n,)
    return X.T @ error / len(y), error.mean()  # (features,), scalar


# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Never trust a gradient you derived by hand
#
# Nudge each weight by a tiny `h` and watch the loss: `(loss(w+h) - loss(w-h)) / 2h`.

# %%
w_probe = np.random.default_rng(0).normal(size=len(features))
grad_w, _ = gradients(w_probe, 0.1, X_train, y_train)
h = 1e-6
numeric = np.array([
    (log_loss(w_probe + h * e, 0.1, X_train, y_train)
     - log_loss(w_probe - h * e, 0.1, X_train, y_train)) / (2 * h)
    for e in np.eye(len(features))  # e = one weight at a time
])
print("analytic:", grad_w.round(6))
print("numeric: ", numeric.round(6))
print(f"largest difference: {np.max(np.abs(grad_w - numeric)):.1e}")

# %% [markdown] slideshow={"slide_type": "notes"}
# A difference around 1e-9 or below means the formula is right. Something like 1e-2 means a bug.
# The neural-network lesson uses exactly the same check on thousands of weights.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## The training loop

# %%
w, b = np.zeros(len(features)), 0.0
history = {"train": [], "test": []}
for step in range(n_steps):
    grad_w, grad_b = gradients(w, b, X_train, y_train)
    w -= learning_rate * grad_w  # a small step downhill
    b -= learning_rate * grad_b
    history["train"].append(log_loss(w, b, X_train, y_train))
    history["test"].append(log_loss(w, b, X_test, y_test))
print(f"after {n_steps} steps: train loss {history['train'][-1]:.4f}, "
      f"test loss {history['test'][-1]:.4f}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### The loss curve

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
steps = np.arange(1, n_steps + 1)
ax.plot(steps, history["train"], label="train")
ax.plot(steps, history["test"], label="test")
ax.set(xlabel="step", ylabel="log loss", xscale="log")
ax.legend()
plt.show()

# %% [markdown] slideshow={"slide_type": "notes"}
# Log scale on the x axis: almost all the learning happens in the first 50 steps, then the curve
# flattens. Test loss ends above train loss, as it should. If test loss went up while train loss
# kept falling, that would be overfitting, as in the polynomial lesson.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## What did it learn?

# %%
reference = LogisticRegression(C=np.inf)  # C=inf: no regularisation, like ours
reference.fit(X_train, y_train)
print(f"{'feature':>17s}  {'ours':>7s}  {'sklearn':>7s}")
for name, ours, theirs in zip(features, w, reference.coef_[0]):
    print(f"{name:>17s}  {ours:+7.3f}  {theirs:+7.3f}")

# %% [markdown] slideshow={"slide_type": "fragment"}
# Same weights as scikit-learn (it just uses a smarter optimiser). Features are standardised,
# so sizes compare: big diffs hurt most, tests help, a track record helps.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercise 1: accuracy
#
# Write `accuracy(w, b, X, y)`: predict "merged" when the probability is at least 0.5, and
# return the share of correct predictions. Compare it with always answering "merged".

# %% tags=["exercise"]
def accuracy(w, b, X, y):
    # BEGIN SOLUTION
    return np.mean((predict_proba(w, b, X) >= 0.5) == y)
    # END SOLUTION


# %%
print(f"our model:       {accuracy(w, b, X_test, y_test):.1%}")
print(f"always 'merged': {y_test.mean():.1%}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ## Exercise 2: a brand-new pull request
#
# 1,200 lines over 9 files, no tests, from a first-time contributor. What merge probability
# does the model give? Apply **exactly** the preprocessing of the training data.

# %% tags=["exercise"]
# new_pr = pd.DataFrame([{...}])
# ...

# %% tags=["solution"]
new_pr = pd.DataFrame([{"lines_changed": 1200, "files_touched": 9,
                        "has_tests": 0, "author_prior_prs": 0}])
new_pr["log10_lines"] = np.log10(new_pr["lines_changed"])
x_new = ((new_pr[features] - mean) / std).to_numpy()
print(f"merge probability: {predict_proba(w, b, x_new)[0]:.0%}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Recap
#
# - a model = a prediction function + a loss; training = walking downhill on the loss
# - the gradient tells you which way is downhill; check it with finite differences
# - the learning rate sets the step size; the loss curve shows whether it works
# - new data must go through the **same** preprocessing, with the **training** statistics
#
# **Next:** stack many of these units and you have a neural network.
