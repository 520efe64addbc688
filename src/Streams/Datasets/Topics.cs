namespace BitActors.Streams.Datasets;

/// <summary>Topic names of the BitActors contract (DESIGN.md, "Topics and messages").</summary>
public static class Topics
{
    public const string Datasets = "bit.datasets";
    public const string Models = "bit.models";
    public const string DeadLetter = "bit.deadletter";

    public static string Data(string dataset, string split) => $"bit.data.{dataset}.{split}";

    public static class Headers
    {
        public const string Labels = "bit.labels";
        public const string Index = "bit.index";
        public const string ContentType = "content-type";
    }
}
