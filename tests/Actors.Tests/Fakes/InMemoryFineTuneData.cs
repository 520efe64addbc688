using Akka.Actor;
using Akka.Streams;
using BitActors.Actors.FineTuning;
using BitActors.Model.Training;
using BitActors.Streams.Datasets;
using BitActors.Streams.Images;
using BitActors.Streams.Kafka;
using BitActors.Streams.Pipelines;
using SkiaSharp;

namespace BitActors.Actors.Tests.Fakes;

/// <summary>
/// Fine-tune data without Kafka: <c>perClass</c> 16×16 PNG records of each of 10 classes, a fixed evaluation result, and
/// the rejects kept in a list.
/// </summary>
internal sealed class InMemoryFineTuneData(int perClass = 10) : IFineTuneData
{
    public static readonly EvaluationResult Evaluation = new(0.6, 1.0, 0.7, 10, [0.6, 0.6, 0.6, 0.6, 0.6], []);

    private int _reads;

    public int Reads => Volatile.Read(ref _reads);

    public List<RejectedRecord> Rejected { get; } = new();

    public Task<(DatasetManifest Manifest, IReadOnlyList<ImageRecord> Train)> ReadTrainingSetAsync(FineTuneTask task, IMaterializer materializer)
    {
        Interlocked.Increment(ref _reads);
        var manifest = new DatasetManifest("memory", Enumerable.Range(0, 10).Select(c => $"c{c}").ToList(), false, new ImageSize(16, 16, 1), "hash",
            [new SplitManifest("train", "bit.data.memory.train", 1, 10 * perClass, [10 * perClass]), new SplitManifest("test", "bit.data.memory.test", 1, 10, [10])],
            DateTimeOffset.UnixEpoch);
        IReadOnlyList<ImageRecord> train = Enumerable.Range(0, 10 * perClass)
            .Where(i => task.Classes.Contains([i % 10]))
            .Select(i => new ImageRecord("bit.data.memory.train", 0, i, $"k{i}", i, [i % 10], Png(i), 0))
            .ToList();
        return Task.FromResult((manifest, train));
    }

    public void Reject(RejectedRecord rejected)
    {
        lock (Rejected) Rejected.Add(rejected);
    }

    public Task<EvaluationResult> EvaluateAsync(DatasetManifest manifest, FineTuneTask task, AugmentSettings augment, IActorRef trainer, IMaterializer materializer) =>
        Task.FromResult(Evaluation);

    public void Dispose() { }

    private static byte[] Png(int seed)
    {
        var random = new Random(seed);
        using var bitmap = new SKBitmap(16, 16);
        for (int y = 0; y < 16; y++)
            for (int x = 0; x < 16; x++)
                bitmap.SetPixel(x, y, new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)));
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 90);
        return data.ToArray();
    }
}
