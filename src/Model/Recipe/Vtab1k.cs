namespace BitActors.Model.Recipe;

/// <summary>
/// The VTAB-1k protocol (Zhai et al., 2019, "A Large-scale Study of Representation Learning with the Visual Task
/// Adaptation Benchmark"): each task trains on 1,000 examples of its training split drawn at random, whatever their
/// classes, of which 800 are trained on and 200 held out to choose settings on; the test split gives the reported top-1,
/// and a suite reports the mean over its tasks.
/// </summary>
public static class Vtab1k
{
    public const int Examples = 1000;
    public const int Train = 800;
    public const int Validation = Examples - Train;

    /// <summary>The name a task group and a report give the protocol.</summary>
    public const string Name = "vtab-1k";

    /// <summary>
    /// A draw of <see cref="Examples"/> in one streaming pass with the seed: every candidate is one class for the draw, so
    /// the kept ones are a uniform 1000-subset of the split, the same whatever order they come in (see <see cref="FewShotDraw{T}"/>).
    /// </summary>
    public static FewShotDraw<T> Draw<T>(int seed, Func<T, long> id) => new(Examples, seed, id, _ => 0);

    /// <summary>The drawn examples, by rank, split into the 800 trained on and the 200 held out; fewer than 1000 refused by <paramref name="what"/>.</summary>
    public static (IReadOnlyList<T> Train, IReadOnlyList<T> Validation) Split<T>(FewShotDraw<T> draw, string what)
    {
        IReadOnlyList<T> ranked;
        try { ranked = draw.Result([0]); }
        catch (InvalidOperationException e)
        {
            throw new InvalidDataException($"{what}: VTAB-1k draws {Examples} training examples ({e.Message.Replace("class 0 has", "there are").Replace($"the {Examples} shots asked for", $"{Examples}")})");
        }
        return (ranked.Take(Train).ToList(), ranked.Skip(Train).ToList());
    }
}
