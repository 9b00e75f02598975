from setuptools import find_packages, setup


def readme():
    with open('README.md', encoding='utf-8') as f:
        return f.read()


setup(
    name='mmseg_reco',
    version='0.1.0',
    description='Label-efficient semantic segmentation (ReCo, class-wise '
    'memory bank contrast, RC2L) as an MMSegmentation 1.x plugin',
    long_description=readme(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'benchmarks')),
    python_requires='>=3.8',
    install_requires=[
        'mmengine>=0.10.0,<0.11.0',
        'mmsegmentation>=1.2.0,<1.3.0',
        'numpy',
        'scipy',
    ],
    license='Apache License 2.0',
)
