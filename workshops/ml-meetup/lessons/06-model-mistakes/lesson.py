# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: model-mistakes
#     title: "Where does it go wrong? Plotting a classifier's mistakes"
#     level: intermediate
#     minutes: 30
#     tags: [scikit-learn, evaluation, visualisation, classification]
#     requires: [first-classifier]
#     objectives:
#       - Read a confusion matrix and a per-class precision/recall report
#       - Find and look at the model's most confident mistakes
#       - Check whether the model's confidence can be trusted
#       - Choose a confidence threshold that sends hard cases to a human
#     kind: lesson
# ---

# %% [markdown] slideshow={"slide_type": "slide"}
# # Where does it go wrong?
#
# "97% accurate" hides everything interesting. Which digits does it confuse? Are the mistakes
# sloppy handwriting, or a blind spot? Can we tell when to trust it?
#
# Same data and model as the first classifier lesson; this time we study the **errors**.

# %% [markdown] slideshow={"slide_type": "notes"}
# The habit to sell: before tuning anything, look at 10-20 mistakes. It is the highest value
# 5 minutes in any ML project, and most people skip it.

# %% tags=["parameters"]
quick = False  # fast either way; kept so every lesson takes the same flag

# %% slideshow={"slide_type": "skip"}
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    classification_report,
    confusion_matrix,
)
from sklearn.model_selection import train_test_split

n_show = 8  # mistakes to look at

# %% [markdown] slideshow={"slide_type": "slide"}
# ## The model from last time

# %%
digits = load_digits()
X_train, X_test, y_train, y_test, img_train, img_test = train_test_split(
    digits.data / 16.0, digits.target, digits.images,
    test_size=0.25, random_state=0, stratify=digits.target,
)
model = LogisticRegression(max_iter=1000).fit(X_train, y_train)
y_pred = model.predict(X_test)
wrong = np.flatnonzero(y_pred != y_test)
print(f"accuracy {np.mean(y_pred == y_test):.1%}: {len(wrong)} wrong of {len(y_test)}")

# %% [markdown] slideshow={"slide_type": "notes"}
# `train_test_split` splits any number of arrays in step: here we also keep the 8×8 images
# of the test set, so we can plot the mistakes later.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## The confusion matrix
#
# Rows: the true digit; columns: the model's answer. Off the diagonal: what got confused.

# %%
fig, ax = plt.subplots(figsize=(3.9, 3.3))
ConfusionMatrixDisplay.from_predictions(
    y_test, y_pred, ax=ax, colorbar=False, cmap="Blues"
)
ax.set_title("test set, logistic regression")
plt.show()

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Precision and recall per digit
#
# **Precision**: when it says "8", how often is it an 8? **Recall**: of the real 8s, how many
# did it find?

# %%
print(classification_report(y_test, y_pred, digits=3))

# %% [markdown] slideshow={"slide_type": "notes"}
# Which one matters depends on the cost: a spam filter needs high precision (never bin a real
# email), a cancer screen needs high recall (never miss a case). Accuracy averages them away.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Look at the mistakes
#
# Sort the mistakes by how **sure** the model was. Confident mistakes are the interesting ones.

# %%
proba = model.predict_proba(X_test)
confidence = proba.max(axis=1)
worst = wrong[np.argsort(confidence[wrong])[::-1]][:n_show]

fig, axes = plt.subplots(1, len(worst), figsize=(1.3 * len(worst), 2))
for ax, i in zip(np.atleast_1d(axes), worst):
    ax.imshow(img_test[i], cmap="gray_r")
    ax.set_title(f"{y_test[i]}→{y_pred[i]}\n{confidence[i]:.0%}", fontsize=9)
    ax.axis("off")
plt.show()

# %% [markdown] slideshow={"slide_type": "notes"}
# Read each title as "true → predicted, confidence". Ask the room: would you have got these
# right? Some are genuinely ambiguous at 8×8 pixels; those are label noise, not model failure.
# Others are clean digits the model misreads: that is where better features or models help.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Can we trust its confidence?
#
# Group predictions by confidence. If the model is well calibrated, "90% sure" should be right
# about 90% of the time.

# %%
correct = y_pred == y_test
bins = [0.0, 0.6, 0.9, 0.99, 1.0]
for low, high in zip(bins[:-1], bins[1:]):
    in_bin = (confidence > low) & (confidence <= high)
    if in_bin.any():
        print(f"confidence {low:4.0%}-{high:4.0%}: {in_bin.sum():3d} images, "
              f"{correct[in_bin].mean():6.1%} correct")

# %% [markdown] slideshow={"slide_type": "notes"}
# Here the model is *under*-confident: in the 90-99% bin it is right every time. Regularised
# logistic regression often is. Boosted trees and neural networks tend to be over-confident.
# Either way, measure it before you build a decision on "confidence > x".

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercise 1: the most confused pairs
#
# Write `most_confused(cm, k)`: the `k` largest **off-diagonal** cells of a confusion matrix,
# as `(true, predicted, count)` tuples, largest first.

# %% tags=["exercise"]
def most_confused(cm, k=3):
    # BEGIN SOLUTION
    off = cm.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(off, axis=None)[::-1][:k]
    rows, cols = np.unravel_index(order, off.shape)
    return [(int(t), int(p), int(off[t, p])) for t, p in zip(rows, cols)]
    # END SOLUTION


# %%
cm = confusion_matrix(y_test, y_pred)
for true, predicted, count in most_confused(cm, k=3):
    print(f"{true} read as {predicted}: {count} times")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ## Exercise 2: send hard cases to a human
#
# A post office wants **99.5%** accuracy on the letters the machine sorts alone. Find the lowest
# confidence threshold that achieves it on the test set. What share of images go to a human?

# %% tags=["exercise"]
# for threshold in np.linspace(0.5, 0.999, 200):
#     ...

# %% tags=["solution"]
for threshold in np.linspace(0.5, 0.999, 200):
    auto = confidence >= threshold
    if correct[auto].mean() >= 0.995:
        break
print(f"threshold {threshold:.3f}: machine sorts {auto.mean():.0%} at "
      f"{correct[auto].mean():.1%} accuracy, humans check {1 - auto.mean():.0%}")

# %% [markdown] slideshow={"slide_type": "notes"}
# In a real project choose the threshold on a validation set, not on the test set, for the same
# reason as in the overfitting lesson.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Recap
#
# - the confusion matrix shows *which* mistakes; the report gives precision and recall per class
# - look at the most confident mistakes: ambiguous data or a real blind spot?
# - check that confidence means something before you act on it
# - a threshold trades automation against accuracy: let the business pick the point
