# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: attention-from-scratch
#     title: "Attention from scratch: the core of a transformer in NumPy"
#     level: advanced
#     minutes: 40
#     tags: [numpy, transformers, attention, deep-learning]
#     requires: [neural-net-numpy]
#     objectives:
#       - Implement scaled dot-product attention with an optional mask
#       - Explain the 1/sqrt(d) scaling with a measurement, not a slogan
#       - Show that attention ignores word order until positions are added
#       - Build a "previous token" attention head by hand, and split attention into heads
#     kind: lesson
# ---

# %% [markdown] slideshow={"slide_type": "slide"}
# # Attention from scratch
#
# Every transformer (GPT, BERT, Whisper, vision transformers) repeats one operation:
#
# $$\mathrm{attention}(Q, K, V) = \mathrm{softmax}\left(\frac{QK^\top}{\sqrt{d}}\right) V$$
#
# Tonight: build it in NumPy, measure why each piece is there, and wire up by hand a head that
# real language models learn on their own.

# %% [markdown] slideshow={"slide_type": "notes"}
# Advanced slot: assumes matrix products and softmax from the neural-network lesson. No training
# here at all: every weight is either random or chosen by hand, which is what makes the
# mechanism visible.

# %% tags=["parameters"]
quick = False  # papermill: -p quick True makes CI fast

# %%
import matplotlib.pyplot as plt
import numpy as np

rng = np.random.default_rng(0)
n_trials = 100 if quick else 2_000  # random draws in the scaling experiment
sharpness = 25.0  # how strongly the hand-built head prefers its target position

# %% [markdown] slideshow={"slide_type": "slide"}
# ## A soft dictionary lookup
#
# A Python dict returns the value whose key matches exactly. Attention compares the query with
# **every** key, turns the similarities into weights that sum to 1, and returns a weighted blend
# of the values.

# %%
def softmax(z, axis=-1):
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


keys = np.array([[1.0, 0.0], [0.0, 1.0], [0.7, 0.7], [-1.0, 0.0]])
values = np.array([10.0, 20.0, 30.0, 40.0])
query = np.array([2.0, 0.2])
weights = softmax(keys @ query)
print("weights:", weights.round(3), " -> answer:", round(float(weights @ values), 2))

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Scaled dot-product attention
#
# One query per position, all at once: `Q` is `(T, d)`, `K` is `(T, d)`, `V` is `(T, d_v)`.
# A mask says which positions each query may look at.

# %%
def attention(Q, K, V, mask=None):
    scores = Q @ K.T / np.sqrt(Q.shape[-1])  # (T, T): query i against key j
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)  # forbidden positions: weight 0
    weights = softmax(scores, axis=-1)
    return weights @ V, weights


T, d = 6, 4
Q, K, V = rng.normal(size=(3, T, d))
out, w = attention(Q, K, V)
print("output:", out.shape, " weights:", w.shape)
print("each row of weights sums to", w.sum(axis=1).round(6))

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### The bug everyone writes once
#
# Forget the transpose and NumPy stops you, as long as `T ≠ d`. (When `T == d` it silently
# computes nonsense: test with different sizes.)

# %% tags=["raises-exception"]
scores = Q @ K / np.sqrt(d)  # should be K.T

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Why divide by √d?
#
# The dot product $q \cdot k = \sum_{i=1}^{d} q_i k_i$ of random vectors grows like $\sqrt{d}$.
# Without scaling, a wide model's softmax puts almost all weight on one key, and its gradients
# vanish.

# %%
for dim in (4, 64, 512):
    q = rng.normal(size=(n_trials, 1, dim))
    k = rng.normal(size=(n_trials, 16, dim))
    raw = (q * k).sum(axis=-1)  # (n_trials, 16) dot products
    unscaled = softmax(raw).max(axis=-1).mean()
    scaled = softmax(raw / np.sqrt(dim)).max(axis=-1).mean()
    print(f"d={dim:3d}: largest weight, unscaled {unscaled:.2f} | scaled {scaled:.2f}")

# %% [markdown] slideshow={"slide_type": "notes"}
# With 16 keys a uniform softmax gives 0.06 per key. Unscaled at d=512, the top key takes nearly
# everything regardless of content; scaled, the distribution stays the same at every width. That
# is the whole reason for the √d in the paper.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Self-attention on a sentence
#
# Each word gets an embedding vector. `Q`, `K` and `V` are three linear projections of the
# same embeddings.

# %%
words = "the cat sat on the mat because it was warm".split()
vocab = sorted(set(words))
d_tok = 16
embedding = rng.normal(size=(len(vocab), d_tok)) / np.sqrt(d_tok)
X_tok = embedding[[vocab.index(word) for word in words]]  # (10, 16)
Wq, Wk, Wv = rng.normal(size=(3, d_tok, d_tok)) / np.sqrt(d_tok)
out, _ = attention(X_tok @ Wq, X_tok @ Wk, X_tok @ Wv)
print(f"{len(words)} words -> X {X_tok.shape} -> output {out.shape}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### It cannot see word order
#
# Shuffle the words: every output row moves with its word and is otherwise **unchanged**.
# "dog bites man" and "man bites dog" look the same.

# %%
perm = rng.permutation(len(words))
out_shuffled, _ = attention(X_tok[perm] @ Wq, X_tok[perm] @ Wk, X_tok[perm] @ Wv)
print("same rows, shuffled:", np.allclose(out_shuffled, out[perm]))

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Positions as waves
#
# Add a position code: sines and cosines at several frequencies. Its key property:
# moving `k` steps is a **rotation**, the same matrix for every position.

# %%
def positions(T, d, base=100.0):
    freq = base ** (-np.arange(0, d, 2) / d)
    angle = np.arange(T)[:, None] * freq  # (T, d/2)
    pe = np.zeros((T, d))
    pe[:, 0::2], pe[:, 1::2] = np.sin(angle), np.cos(angle)
    return pe, freq


d_pos = 16
P, freq = positions(len(words), d_pos)
print("position codes:", P.shape, "| position 0 starts with", P[0, :4].round(2))

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Moving k steps is a rotation

# %%
def shift(freq, k):
    """Matrix R with positions(T)[p] @ R == positions(T)[p + k], for any p."""
    R = np.zeros((2 * len(freq), 2 * len(freq)))
    for i, f in enumerate(freq):
        c, s = np.cos(k * f), np.sin(k * f)
        R[2 * i:2 * i + 2, 2 * i:2 * i + 2] = [[c, -s], [s, c]]
    return R


print("P[3] @ shift(+1) == P[4]:", np.allclose(P[3] @ shift(freq, 1), P[4]))
print("P[7] @ shift(-2) == P[5]:", np.allclose(P[7] @ shift(freq, -2), P[5]))

# %% [markdown] slideshow={"slide_type": "slide"}
# ## A "previous token" head, wired by hand
#
# Input = word embedding next to position code. Choose the projections:
#
# - query of position `p` = position code of `p - 1` (a rotation)
# - key of position `j` = position code of `j`
# - value = the word embedding
#
# So position `p` looks for `p - 1` and copies its word. A **causal mask** stops anyone
# looking ahead, as in GPT.

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Wiring it

# %%
X = np.hstack([X_tok, P])  # (10, 32): what a transformer layer receives
Wq_prev = np.zeros((d_tok + d_pos, d_pos))
Wq_prev[d_tok:] = sharpness * shift(freq, -1)
Wk_pos = np.zeros((d_tok + d_pos, d_pos))
Wk_pos[d_tok:] = np.eye(d_pos)
Wv_tok = np.zeros((d_tok + d_pos, d_tok))
Wv_tok[:d_tok] = np.eye(d_tok)
causal = np.tril(np.ones((len(words), len(words)), dtype=bool))

out, w_prev = attention(X @ Wq_prev, X @ Wk_pos, X @ Wv_tok, mask=causal)
decoded = [vocab[i] for i in (out @ embedding.T).argmax(axis=1)]
print(" ".join(f"{word}←{got}" for word, got in zip(words, decoded)))

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### The attention pattern

# %%
fig, ax = plt.subplots(figsize=(4.4, 3.9))
ax.imshow(w_prev, cmap="Greys", vmin=0, vmax=1)
ax.set_xticks(range(len(words)), words, rotation=60)
ax.set_yticks(range(len(words)), words)
ax.set(xlabel="key (looked at)", ylabel="query (looking)")
fig.tight_layout()
plt.show()

# %% [markdown] slideshow={"slide_type": "notes"}
# The first word has nothing before it, so the mask leaves it only itself. Real language models
# learn heads like this early in training; combined with a second head they form "induction heads",
# which copy patterns seen earlier in the context: a big part of in-context learning.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercise 1: multi-head attention
#
# Split the `d` columns of `Q`, `K`, `V` into `n_heads` groups, run `attention` on each group
# separately, and concatenate the outputs side by side. With one head it must equal plain
# attention.

# %% tags=["exercise"]
def multi_head_attention(Q, K, V, n_heads, mask=None):
    # BEGIN SOLUTION
    heads = zip(np.split(Q, n_heads, axis=1),
                np.split(K, n_heads, axis=1),
                np.split(V, n_heads, axis=1))
    outputs = [attention(q, k, v, mask)[0] for q, k, v in heads]
    return np.concatenate(outputs, axis=1)
    # END SOLUTION


# %%
Qs, Ks, Vs = X_tok @ Wq, X_tok @ Wk, X_tok @ Wv  # (10, 16) each
print("4 heads:", multi_head_attention(Qs, Ks, Vs, n_heads=4).shape)
one_head = multi_head_attention(Qs, Ks, Vs, n_heads=1)
print("1 head == attention:", np.allclose(one_head, attention(Qs, Ks, Vs)[0]))

# %% [markdown] slideshow={"slide_type": "subslide"}
# ## Exercise 2: two tokens back
#
# Build a head where each word copies the word **two** positions earlier. Only the query
# projection changes.

# %% tags=["exercise"]
# Wq_prev2 = ...

# %% tags=["solution"]
Wq_prev2 = np.zeros((d_tok + d_pos, d_pos))
Wq_prev2[d_tok:] = sharpness * shift(freq, -2)
out2, _ = attention(X @ Wq_prev2, X @ Wk_pos, X @ Wv_tok, mask=causal)
decoded2 = [vocab[i] for i in (out2 @ embedding.T).argmax(axis=1)]
print(" ".join(f"{word}←{got}" for word, got in zip(words, decoded2)))

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Recap: from here to a transformer
#
# - attention = softmax(similarity of query and keys) · values; a mask hides positions
# - √d keeps the softmax from collapsing in wide models
# - without position codes, attention sees a bag of words
# - heads can implement crisp rules ("copy the previous word") from plain matrices
#
# A transformer block adds: several heads plus an output projection, a small MLP, residual
# connections and layer norm, and learns every matrix by gradient descent.
