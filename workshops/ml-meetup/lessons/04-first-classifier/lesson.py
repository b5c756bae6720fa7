# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: first-classifier
#     title: "A first classifier: reading handwritten digits"
#     level: beginner
#     minutes: 30
#     tags: [scikit-learn, classification, images]
#     requires: [train-test-overfitting]
#     objectives:
#       - Turn small images into rows of a feature table
#       - Always compare a classifier with a dummy baseline
#       - Train and compare three scikit-learn classifiers on the same split
#       - Read predicted probabilities, not just predicted labels
#     kind: lesson
# ---

# %% [markdown] slideshow={"slide_type": "slide"}
# # A first classifier: reading handwritten digits
#
# Regression predicts a number (a price). **Classification** predicts a label (a digit, spam or
# not, which species). Same recipe: `fit`, `predict`, `score`.
#
# Data: 1,797 handwritten digits, 8×8 pixels, scanned in the 1990s. It ships with
# scikit-learn, so no download.

# %% [markdown] slideshow={"slide_type": "notes"}
# This is "MNIST's little sibling": small enough that everything trains in under a second on a
# laptop, so people can experiment freely. The neural network lesson reuses it.

# %% tags=["parameters"]
quick = False  # papermill: -p quick True makes CI fast

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier

n_trees = 30 if quick else 200  # size of the random forest

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Images are arrays

# %%
digits = load_digits()
print("images:", digits.images.shape, " as a table:", digits.data.shape)
print("pixel values from", digits.data.min(), "to", digits.data.max())
print("examples per digit:", np.bincount(digits.target))

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Look at them

# %%
fig, axes = plt.subplots(2, 8, figsize=(8, 2.4))
for ax, image, label in zip(axes.ravel(), digits.images, digits.target):
    ax.imshow(image, cmap="gray_r")
    ax.set_title(label)
    ax.axis("off")
plt.show()

# %% [markdown] slideshow={"slide_type": "notes"}
# Each 8×8 image became a row of 64 numbers, read left to right, top to bottom. The model never
# knows that pixel 9 sits below pixel 1: for it, these are 64 unrelated columns.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Prepare: scale and split
#
# Pixels go from 0 to 16; divide so they go from 0 to 1. `stratify=y` keeps the same share of
# each digit in train and test.

# %%
X = digits.data / 16.0
y = digits.target
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, random_state=0, stratify=y
)
print("train:", X_train.shape, " test:", X_test.shape)

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### First, a baseline that knows nothing
#
# A model that always answers the most common digit. Any real model must beat this by far.

# %%
baseline = DummyClassifier(strategy="most_frequent").fit(X_train, y_train)
print(f"baseline accuracy: {baseline.score(X_test, y_test):.1%}")

# %% [markdown] slideshow={"slide_type": "notes"}
# With ten balanced classes the baseline is about 10%. On real data with 95% "no fraud" the
# baseline is 95%, and a "95% accurate" model is worthless. Always print the baseline.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Three classifiers, one split

# %%
models = {
    "logistic regression": LogisticRegression(max_iter=1000),
    "5 nearest neighbours": KNeighborsClassifier(n_neighbors=5),
    f"random forest ({n_trees} trees)": RandomForestClassifier(n_trees, random_state=0),
}
for name, model in models.items():
    model.fit(X_train, y_train)
    print(f"{name:>26s}: {model.score(X_test, y_test):.1%} test accuracy")

# %% [markdown] slideshow={"slide_type": "fragment"}
# All three land within a couple of points of each other. On a data set this small, the
# differences are partly luck of the split.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## How sure is the model?
#
# `predict_proba` gives one probability per class. Look at the three most likely digits
# for a few test images.

# %%
logreg = models["logistic regression"]
proba = logreg.predict_proba(X_test[:4])
for i, p in enumerate(proba):
    top = np.argsort(p)[::-1][:3]
    guesses = ", ".join(f"{d}: {p[d]:.0%}" for d in top)
    print(f"image {i} (true {y_test[i]}) -> {guesses}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercise 1: accuracy by hand
#
# Write `accuracy(y_true, y_pred)`: the share of positions where the two arrays agree.
# One line of NumPy.

# %% tags=["exercise"]
def accuracy(y_true, y_pred):
    # BEGIN SOLUTION
    return np.mean(np.asarray(y_true) == np.asarray(y_pred))
    # END SOLUTION


# %%
y_pred = logreg.predict(X_test)
print(f"yours:        {accuracy(y_test, y_pred):.4f}")
print(f"scikit-learn: {accuracy_score(y_test, y_pred):.4f}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ## Exercise 2: how much data do you need?
#
# Train logistic regression on the first 50, 100, 200, 400 and 800 training images only.
# Print the test accuracy each time. Would labelling more data help?

# %% tags=["exercise"]
# for n in [50, 100, 200, 400, 800]:
#     ...

# %% tags=["solution"]
for n in [50, 100, 200, 400, 800]:
    small = LogisticRegression(max_iter=1000).fit(X_train[:n], y_train[:n])
    print(f"{n:4d} images: {small.score(X_test, y_test):.1%}")

# %% [markdown] slideshow={"slide_type": "notes"}
# The curve flattens: past a few hundred images each doubling buys less. This "learning curve" is
# the cheapest way to decide whether to label more data or to change the model.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Recap
#
# - an image is a row of pixel values; scale them to 0–1
# - split with `stratify=y`; print a dummy baseline first
# - try a few models on the **same** split; expect small differences
# - `predict_proba` says how sure the model is
#
# **Next:** which digits does it confuse, and why? (the "mistakes" lesson)
