using Akka.Streams;
using Akka.Streams.Stage;

namespace BitActors.Streams.Pipelines;

/// <summary>
/// Shuffles a stream through a buffer of <c>size</c> elements (as tf.data's shuffle): once the buffer is
/// full, each pull emits a uniformly drawn element and refills its slot. Seeded, so runs repeat.
/// </summary>
public sealed class ShuffleBuffer<T>(int size, int seed) : GraphStage<FlowShape<T, T>>
{
    private readonly Inlet<T> inlet = new("shuffle.in");
    private readonly Outlet<T> outlet = new("shuffle.out");
    private readonly int size = size > 0 ? size : throw new ArgumentOutOfRangeException(nameof(size), size, "buffer size must be positive");
    private readonly int seed = seed;

    public override FlowShape<T, T> Shape => new(inlet, outlet);

    protected override GraphStageLogic CreateLogic(Attributes inheritedAttributes) => new Logic(this);

    private sealed class Logic : InAndOutGraphStageLogic
    {
        private readonly ShuffleBuffer<T> stage;
        private readonly List<T> buffer;
        private readonly Random random;

        public Logic(ShuffleBuffer<T> stage) : base(stage.Shape)
        {
            this.stage = stage;
            buffer = new List<T>(Math.Max(1, stage.size));
            random = new Random(stage.seed);
            SetHandler(stage.inlet, this);
            SetHandler(stage.outlet, this);
        }

        public override void PreStart() => Pull(stage.inlet);

        public override void OnPush()
        {
            buffer.Add(Grab(stage.inlet));
            if (buffer.Count < stage.size) Pull(stage.inlet);
            else if (IsAvailable(stage.outlet)) EmitOne();
        }

        public override void OnPull()
        {
            if (buffer.Count >= stage.size || (IsClosed(stage.inlet) && buffer.Count > 0)) EmitOne();
        }

        public override void OnUpstreamFinish()
        {
            if (buffer.Count == 0) CompleteStage();
            else if (IsAvailable(stage.outlet)) EmitOne();
        }

        private void EmitOne()
        {
            int i = random.Next(buffer.Count);
            var item = buffer[i];
            buffer[i] = buffer[^1];
            buffer.RemoveAt(buffer.Count - 1);
            Push(stage.outlet, item);
            if (IsClosed(stage.inlet))
            {
                if (buffer.Count == 0) CompleteStage();
            }
            else if (!HasBeenPulled(stage.inlet)) Pull(stage.inlet);
        }
    }
}
