namespace BitActors.Model.Recipe;

/// <summary>
/// MixUp as BiT uses it (bit_pytorch/train.py): one λ ~ Beta(α, α) per optimizer step; each image is
/// mixed with the image a random permutation of its (micro-)batch pairs it with, and the loss is
/// λ·CE(y) + (1−λ)·CE(y[perm]). α = 0 means no MixUp (λ = 1).
/// </summary>
public static class MixUp
{
    public static double SampleLambda(double alpha, Random random)
    {
        if (alpha < 0) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "MixUp alpha must be non-negative");
        if (alpha == 0) return 1.0;
        var x = SampleGamma(alpha, random);
        var y = SampleGamma(alpha, random);
        return x / (x + y);
    }

    /// <summary>Gamma(shape, 1) by Marsaglia and Tsang (2000); shapes below 1 by the U^(1/a) boost.</summary>
    public static double SampleGamma(double shape, Random random)
    {
        if (shape < 1)
            return SampleGamma(shape + 1, random) * Math.Pow(1.0 - random.NextDouble(), 1.0 / shape);
        double d = shape - 1.0 / 3, c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double x, v;
            do
            {
                x = SampleNormal(random);
                v = 1 + c * x;
            } while (v <= 0);
            v = v * v * v;
            var u = 1.0 - random.NextDouble();
            if (Math.Log(u) < 0.5 * x * x + d - d * v + d * Math.Log(v)) return d * v;
        }
    }

    private static double SampleNormal(Random random)
    {
        // Box–Muller.
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>A random permutation of 0..n-1 (pairs for mixing).</summary>
    public static long[] Permutation(int n, Random random)
    {
        var p = Enumerable.Range(0, n).Select(i => (long)i).ToArray();
        random.Shuffle(p);
        return p;
    }
}
