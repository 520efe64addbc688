using Akka.Streams;
using Akka.Streams.Stage;

namespace BitActors.Streams.Kafka;

/// <summary>
/// The stage in front of a <see cref="GroupEpochReader"/>: it takes a record from the reader only when
/// downstream asks for one and pushes it at once, so "taken" (what is committed) is exactly what went
/// downstream — no read-ahead that a cancelled stream would lose. Materializes the reader's
/// <see cref="GroupEpochReader.Left"/>: done when this member has committed and left the group.
/// </summary>
internal sealed class GroupRecordSource(Func<GroupEpochReader> start) : GraphStageWithMaterializedValue<SourceShape<ImageRecord>, Task>
{
    private readonly Func<GroupEpochReader> start = start;
    private readonly Outlet<ImageRecord> outlet = new("GroupRecordSource.out");

    public override SourceShape<ImageRecord> Shape => new(outlet);

    public override ILogicAndMaterializedValue<Task> CreateLogicAndMaterializedValue(Attributes inheritedAttributes)
    {
        var left = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return new LogicAndMaterializedValue<Task>(new Logic(this, left), left.Task);
    }

    private sealed class Logic : OutGraphStageLogic
    {
        private readonly GroupRecordSource stage;
        private readonly TaskCompletionSource left;
        private GroupEpochReader? reader;
        private Action<Task<bool>>? ready;

        public Logic(GroupRecordSource stage, TaskCompletionSource left) : base(stage.Shape)
        {
            (this.stage, this.left) = (stage, left);
            SetHandler(stage.outlet, this);
        }

        public override void PreStart()
        {
            ready = GetAsyncCallback<Task<bool>>(waited =>
            {
                if (waited.IsFaulted) FailStage(waited.Exception!.GetBaseException());
                else if (!waited.Result) CompleteStage();
                else if (IsAvailable(stage.outlet)) PushOrWait();
            });
            reader = stage.start();
            reader.Left.ContinueWith(_ => left.TrySetResult(), TaskScheduler.Default);
        }

        public override void OnPull() => PushOrWait();

        private void PushOrWait()
        {
            if (reader!.TryTake(out var record)) Push(stage.outlet, record!);
            else reader.WaitAsync().ContinueWith(ready!, TaskScheduler.Default);
        }

        public override void PostStop()
        {
            reader?.Stop();
            if (reader is null) left.TrySetResult();
        }
    }
}
