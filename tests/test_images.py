"""One decoding function for every image: each mode, on images made here, decodes to the RGB a viewer shows."""

import io

import numpy as np
import pytest
from PIL import Image

from labelbench.errors import DataError
from labelbench.images import decode_array, decode_image


def _png(im: Image.Image, **kwargs) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG", **kwargs)
    return buf.getvalue()


def test_16_bit_grayscale_is_scaled_by_its_range_not_clipped():
    ramp = np.linspace(0, 65535, 256).astype(np.uint16).reshape(16, 16)
    data = _png(Image.fromarray(ramp))
    with Image.open(io.BytesIO(data)) as raw:
        assert raw.mode.startswith("I")  # Pillow keeps the 16 bits
    rgb = decode_array(data)
    assert rgb.shape == (16, 16, 3) and rgb.dtype == np.uint8
    np.testing.assert_array_equal(rgb[..., 0], np.rint(ramp / 257.0).astype(np.uint8))
    assert (rgb == 255).mean() < 0.01  # clipping made 99.7 % of such an image white


def test_32_bit_integer_and_float_images_are_scaled_to_8_bits():
    wide = (np.arange(16, dtype=np.int32).reshape(4, 4) * 100_000)  # beyond 16 bits: its own range
    rgb = decode_array(_tiff(Image.fromarray(wide, mode="I")))
    assert rgb[0, 0, 0] == 0 and rgb[-1, -1, 0] == 255
    unit = np.linspace(0, 1, 16, dtype=np.float32).reshape(4, 4)
    rgb = decode_array(_tiff(Image.fromarray(unit, mode="F")))
    np.testing.assert_array_equal(rgb[..., 1], np.rint(unit * 255).astype(np.uint8))


def _tiff(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="TIFF")
    return buf.getvalue()


def test_exif_orientation_is_applied():
    im = Image.new("RGB", (4, 2), (0, 0, 255))
    im.putpixel((0, 0), (255, 0, 0))  # red top-left of the stored pixels
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display"
    rgb = decode_array(_png(im, exif=exif))
    assert rgb.shape == (4, 2, 3)  # upright: 2 wide, 4 high
    assert tuple(rgb[0, 1]) == (255, 0, 0)  # the stored top-left is now top-right


@pytest.mark.parametrize("mode,pixel,expected", [
    ("RGBA", (0, 0, 0, 0), (255, 255, 255)),  # fully transparent: the background
    ("RGBA", (0, 0, 0, 255), (0, 0, 0)),
    ("RGBA", (0, 0, 0, 128), (127, 127, 127)),  # half: halfway to white
    ("LA", (0, 0), (255, 255, 255)),
    ("LA", (40, 255), (40, 40, 40)),
])
def test_transparency_is_composited_on_white(mode, pixel, expected):
    rgb = decode_array(_png(Image.new(mode, (3, 3), pixel)))
    assert tuple(int(v) for v in rgb[1, 1]) == pytest.approx(expected, abs=1)


def test_palette_transparency_and_another_background():
    im = Image.new("P", (2, 1))
    im.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    im.putpixel((0, 0), 0)
    im.putpixel((1, 0), 1)
    data = _png(im, transparency=0)  # palette entry 0 (red) is transparent
    assert decode_array(data).tolist() == [[[255, 255, 255], [0, 255, 0]]]
    assert np.asarray(decode_image(data, background=(0, 0, 0))).tolist() == [[[0, 0, 0], [0, 255, 0]]]


def test_cmyk_grayscale_and_bilevel_are_converted():
    buf = io.BytesIO()
    Image.new("CMYK", (2, 2), (255, 0, 0, 0)).save(buf, format="JPEG", quality=100)
    assert tuple(decode_array(buf.getvalue())[0, 0]) == pytest.approx((0, 255, 255), abs=2)  # cyan
    assert decode_array(_png(Image.new("L", (2, 2), 77)))[0, 0].tolist() == [77, 77, 77]
    assert decode_array(_png(Image.new("1", (2, 2), 1)))[0, 0].tolist() == [255, 255, 255]


def test_a_one_pixel_image_keeps_its_shape_and_resizing_works():
    data = _png(Image.new("RGB", (1, 1), (1, 2, 3)))
    assert decode_array(data).shape == (1, 1, 3)
    assert decode_array(data, size=8).shape == (8, 8, 3)


def test_an_undecodable_file_is_named(tmp_path):
    bad = tmp_path / "photo.jpg"
    bad.write_bytes(b"\xff\xd8\xff not really a jpeg")
    with pytest.raises(DataError, match=r"cannot read image .*photo\.jpg"):
        decode_image(bad)
    with pytest.raises(DataError, match=r"cannot read image .*missing\.png"):
        decode_image(tmp_path / "missing.png")
