#!/usr/bin/python3
"""Run HERE: copies Fashion-MNIST (Debian's dataset-fashion-mnist) into artifacts/gpu/fashion for the
device machine, keeping the first N training images (default 40000) so that the bundle and the data
together stay under the 64 MiB a device call can carry. The test split is copied whole."""
import gzip, os, shutil, struct, sys

src = '/usr/share/datasets/fashion-mnist'
dst = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'artifacts', 'gpu', 'fashion')
keep = int(sys.argv[1]) if len(sys.argv) > 1 else 40000
os.makedirs(dst, exist_ok=True)
for name, header in (('train-images-idx3-ubyte.gz', 16), ('train-labels-idx1-ubyte.gz', 8)):
    data = gzip.open(os.path.join(src, name)).read()
    magic, count = struct.unpack('>II', data[:8])
    item = (len(data) - header) // count
    out = data[:4] + struct.pack('>I', keep) + data[8:header] + data[header:header + keep * item]
    with gzip.open(os.path.join(dst, name), 'wb', compresslevel=9) as f:
        f.write(out)
for name in ('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'):
    shutil.copy(os.path.join(src, name), os.path.join(dst, name))
print(dst, sum(os.path.getsize(os.path.join(dst, f)) for f in os.listdir(dst)), 'bytes')
