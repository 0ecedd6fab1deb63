"""
Why Keras and scipy give different numbers
==========================================

The question fftconv started from: a Keras ``Conv2D`` and ``scipy.signal.convolve2d`` with the
same kernel give different images. Two conventions differ. Deep-learning "convolution" is a
cross-correlation (the kernel is not flipped), and for an even kernel the two libraries put its
centre on different samples, so 'same' outputs are shifted by one. fftconv names each convention
and reproduces both exactly.
"""

import matplotlib.pyplot as plt
import numpy as np
import scipy.signal

import fftconv
import fftconv.nn

image = np.zeros((9, 9))
image[4, 4] = 1.0  # one bright pixel: each output shows the kernel as it was applied
kernel = np.array([[1.0, 2.0], [3.0, 4.0]])  # even-sized and not symmetric

scipy_convolve = scipy.signal.convolve2d(image, kernel, mode="same")
# Keras: channels last, kernel (rows, cols, in, out); it correlates, TensorFlow's 'same' padding
keras = fftconv.nn.keras_conv(image[None, :, :, None], kernel[:, :, None, None], padding="same")[0, :, :, 0]
correlated = fftconv.correlate(image, kernel, mode="full")[1:, 1:]  # TF pads the extra row and column after

print("scipy.signal.convolve2d == fftconv.convolve:",
      np.array_equal(scipy_convolve, fftconv.convolve(image, kernel, mode="same")))
print("Keras == correlation, cropped TensorFlow's way:", np.allclose(keras, correlated))
print("Keras == scipy:", np.allclose(keras, scipy_convolve))

fig, axes = plt.subplots(1, 3, figsize=(9, 3.2))
for ax, (title, values) in zip(axes, [("kernel", kernel), ("scipy convolve2d 'same'", scipy_convolve),
                                      ("Keras Conv2D 'same'", keras)]):
    ax.imshow(values, cmap="viridis")
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()
plt.show()
