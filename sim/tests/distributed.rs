//! Distributed Maps: readers, batching, tolerated failures, result writing,
//! against values AWS recorded (LocalStack's `test_base_scenarios`).

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use sim::{Mocks, Response, Simulator, Status};

fn machine(definition: Value) -> asl::StateMachine {
    serde_json::from_value(definition).expect("a state machine")
}

fn kinds(execution: &sim::Execution) -> Vec<String> {
    execution.events.iter().map(|e| e.kind.name()).collect()
}

fn distributed_map(fields: Value) -> Value {
    let mut map = json!({
        "Type": "Map",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Pass", "States": {"Pass": {"Type": "Pass", "End": true}}
        },
        "End": true
    });
    if let (Value::Object(m), Value::Object(f)) = (&mut map, fields) {
        m.extend(f);
    }
    json!({"StartAt": "MapState", "States": {"MapState": map}})
}

#[test]
fn a_csv_reader_gives_rows_as_objects_of_strings_as_recorded() {
    let definition = distributed_map(json!({
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
            "Parameters": {"Bucket.$": "$.Bucket", "Key.$": "$.Key"}
        }
    }));
    let seen = Arc::new(Mutex::new(Value::Null));
    let seen_by_mock = Arc::clone(&seen);
    // test_map_item_reader_base_csv_headers_first_line's object.
    let mocks = Mocks::new().reader("arn:aws:states:::s3:getObject", move |call| {
        *seen_by_mock.lock().expect("not poisoned") = call.parameters.clone();
        Response::ok(json!(
            "Col1,Col2,Col3\nValue1,Value2,Value3\nValue4,Value5,Value6\n,,,\ntrue,1,'HelloWorld'\nNull,None,\n   \n"
        ))
    });
    let execution = Simulator::new(&mocks).run(
        &machine(definition),
        json!({"Bucket": "bucket-name", "Key": "file.csv"}),
    );
    assert_eq!(execution.status, Status::Succeeded);
    assert_eq!(
        *seen.lock().expect("not poisoned"),
        json!({"Bucket": "bucket-name", "Key": "file.csv"})
    );
    let row = |a: &str, b: &str, c: &str| json!({"Col1": a, "Col2": b, "Col3": c});
    assert_eq!(
        execution.output,
        Some(json!([
            row("Value1", "Value2", "Value3"),
            row("Value4", "Value5", "Value6"),
            row("", "", ""),
            row("true", "1", "'HelloWorld'"),
            row("Null", "None", ""),
            row("   ", "", ""),
        ]))
    );
    assert_eq!(
        kinds(&execution),
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapRunStarted",
            "MapRunSucceeded",
            "MapStateSucceeded",
            "MapStateExited",
            "ExecutionSucceeded"
        ]
    );
    let run = &execution.map_runs[0];
    assert_eq!(run.executions.len(), 6);
    assert!(run.executions.iter().all(|e| e.status == Status::Succeeded));
}

#[test]
fn reader_failures_fail_the_map_run_and_can_be_caught() {
    let definition = distributed_map(json!({
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "GIVEN", "CSVHeaders": ["H1", "H1"]},
            "Parameters": {"Bucket": "b", "Key": "k"}
        }
    }));
    let mocks = Mocks::new().reader("MapState", |_| Response::ok(json!("a,b\n")));
    let execution = Simulator::new(&mocks).run(&machine(definition), json!({}));
    assert_eq!(execution.status, Status::Failed);
    let failure = execution.failure.clone().expect("a failure");
    assert_eq!(failure.error, "States.ItemReaderFailed");
    assert_eq!(failure.cause, "CSV headers cannot contain duplicates.");
    assert!(kinds(&execution).contains(&"MapRunFailed".to_owned()));

    let mut caught = distributed_map(json!({
        "ItemReader": {"Resource": "arn:aws:states:::s3:listObjectsV2", "Parameters": {"Bucket": "b"}},
        "Catch": [{"ErrorEquals": ["S3.NoSuchBucket"], "Next": "Handled"}]
    }));
    caught["States"]["MapState"]
        .as_object_mut()
        .expect("an object")
        .remove("End");
    caught["States"]["Handled"] = json!({"Type": "Pass", "End": true});
    let mocks = Mocks::new().reader("arn:aws:states:::s3:listObjectsV2", |_| {
        Response::throw("S3.NoSuchBucket", "no bucket b")
    });
    let execution = Simulator::new(&mocks).run(&machine(caught), json!({}));
    assert_eq!(execution.status, Status::Succeeded);
    assert_eq!(execution.path(), ["MapState", "Handled"]);
}

#[test]
fn a_listing_gives_its_contents_and_max_items_cuts_them() {
    let definition = distributed_map(json!({
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:listObjectsV2",
            "ReaderConfig": {"MaxItemsPath": "$.max"},
            "Parameters": {"Bucket.$": "$.Bucket"}
        },
        "ItemSelector": {"key.$": "$$.Map.Item.Value.Key", "tag.$": "$$.Map.Item.Value.Etag", "index.$": "$$.Map.Item.Index"}
    }));
    let mocks = Mocks::new().reader("arn:aws:states:::s3:listObjectsV2", |_| {
        Response::ok(json!({"Contents": [
            {"Key": "a.jpg", "Size": 1, "ETag": "\"1\"", "LastModified": "2026-01-01T00:00:00Z", "StorageClass": "STANDARD"},
            {"Key": "b.jpg", "Size": 2, "ETag": "\"2\"", "LastModified": "2026-01-01T00:00:00Z", "StorageClass": "STANDARD"},
            {"Key": "c.jpg", "Size": 3, "ETag": "\"3\"", "LastModified": "2026-01-01T00:00:00Z", "StorageClass": "STANDARD"}
        ]}))
    });
    let execution =
        Simulator::new(&mocks).run(&machine(definition), json!({"Bucket": "b", "max": "2"}));
    assert_eq!(
        execution.output,
        Some(json!([
            {"key": "a.jpg", "tag": "\"1\"", "index": 0},
            {"key": "b.jpg", "tag": "\"2\"", "index": 1}
        ]))
    );
}

#[test]
fn a_batcher_groups_items_with_its_batch_input() {
    // test_map_item_batching_base_json_max_per_batch_jsonata, in JSONPath.
    let definition = distributed_map(json!({
        "ItemsPath": "$.items",
        "ItemBatcher": {"MaxItemsPerBatchPath": "$.per", "BatchInput": {"run.$": "$.run"}}
    }));
    let execution = Simulator::new(&Mocks::new()).run(
        &machine(definition),
        json!({"items": [1, 2, 3], "per": 2, "run": "r"}),
    );
    assert_eq!(
        execution.output,
        Some(json!([
            {"BatchInput": {"run": "r"}, "Items": [1, 2]},
            {"BatchInput": {"run": "r"}, "Items": [3]}
        ]))
    );
    assert_eq!(execution.map_runs[0].executions.len(), 2);
}

fn failing_map(tolerance: Value) -> Value {
    let mut definition = distributed_map(tolerance);
    definition["States"]["MapState"]["ItemProcessor"]["States"] = json!({
        "Pass": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericEquals": 0, "Next": "Boom"}], "Default": "Ok"},
        "Boom": {"Type": "Fail", "Error": "Item.Bad", "Cause": "zero"},
        "Ok": {"Type": "Succeed"}
    });
    definition["States"]["MapState"]["ItemProcessor"]["StartAt"] = json!("Pass");
    definition
}

#[test]
fn failures_within_the_tolerance_keep_the_map_succeeding() {
    let within =
        failing_map(json!({"ToleratedFailurePercentagePath": "$.pct", "ItemsPath": "$.items"}));
    let execution = Simulator::new(&Mocks::new())
        .run(&machine(within), json!({"items": [0, 1, 2, 3], "pct": 25}));
    assert_eq!(execution.status, Status::Succeeded);
    assert_eq!(
        execution.output,
        Some(json!([{"Error": "Item.Bad", "Cause": "zero"}, 1, 2, 3]))
    );
    let statuses: Vec<_> = execution.map_runs[0]
        .executions
        .iter()
        .map(|e| e.status)
        .collect();
    assert_eq!(statuses[0], Status::Failed);

    for tolerance in [json!({}), json!({"ToleratedFailureCount": 1})] {
        let mut fields = tolerance;
        fields["ItemsPath"] = json!("$.items");
        let execution = Simulator::new(&Mocks::new())
            .run(&machine(failing_map(fields)), json!({"items": [0, 0, 1]}));
        assert_eq!(execution.status, Status::Failed);
        let failure = execution.failure.expect("a failure");
        assert_eq!(failure.error, "States.ExceedToleratedFailureThreshold");
        assert_eq!(
            failure.cause,
            "The specified tolerated failure threshold was exceeded"
        );
    }
}

#[test]
fn a_run_past_its_threshold_starts_no_more_children_and_aborts_the_running_ones() {
    let mut definition = distributed_map(json!({"ItemsPath": "$.items", "MaxConcurrency": 2}));
    definition["States"]["MapState"]["ItemProcessor"]["States"] = json!({"Work": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}});
    definition["States"]["MapState"]["ItemProcessor"]["StartAt"] = json!("Work");
    // Item 1 fails after 1 s; every other takes 5 s.
    let mocks = Mocks::new().resource("arn:aws:states:::lambda:invoke", |call| {
        match call.parameters.as_i64() {
            Some(1) => Response::throw("Item.Bad", "one").taking(1_000),
            _ => Response::ok(json!({})).taking(5_000),
        }
    });
    let execution = Simulator::new(&mocks).run(
        &machine(definition),
        json!({"items": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]}),
    );
    assert_eq!(execution.status, Status::Failed);
    let children = &execution.map_runs[0].executions;
    let statuses: Vec<_> = children.iter().map(|e| e.status).collect();
    // Item 2 would have started when item 1 failed: it never does.
    assert_eq!(statuses, [Status::Aborted, Status::Failed]);
    let first = &children[0];
    assert_eq!(first.stop_ms - first.start_ms, 1_000);
    let kinds: Vec<String> = first.events.iter().map(|e| e.kind.name()).collect();
    assert_eq!(
        kinds[kinds.len() - 2..],
        ["TaskStateAborted", "ExecutionAborted"]
    );
    let run_failed = execution
        .events
        .iter()
        .find(|e| e.kind.name() == "MapRunFailed")
        .expect("the run failed");
    assert_eq!(run_failed.at_ms - execution.events[0].at_ms, 1_000);
}

#[test]
fn a_result_writer_writes_the_manifest_and_results_and_outputs_where() {
    let definition = failing_map(json!({
        "ItemsPath": "$.items",
        "Label": "TestMap",
        "ToleratedFailureCount": 1,
        "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "result-bucket", "Prefix": "mapJobs"}}
    }));
    let put = Arc::new(Mutex::new(Vec::new()));
    let put_by_mock = Arc::clone(&put);
    let mocks = Mocks::new().writer("arn:aws:states:::s3:putObject", move |call| {
        put_by_mock
            .lock()
            .expect("not poisoned")
            .push(call.parameters["Key"].clone());
        Response::ok(json!({}))
    });
    let execution = Simulator::new(&mocks).run(&machine(definition), json!({"items": [0, 1]}));
    assert_eq!(execution.status, Status::Succeeded);
    let run = &execution.map_runs[0];
    let id = run.arn.rsplit(':').next().expect("an id");
    assert!(
        run.arn
            .starts_with("arn:aws:states:us-east-1:123456789012:mapRun:Simulated/TestMap:")
    );
    let output = execution.output.expect("an output");
    assert_eq!(
        output,
        json!({"MapRunArn": run.arn, "ResultWriterDetails": {"Bucket": "result-bucket", "Key": format!("mapJobs/{id}/manifest.json")}})
    );
    let keys: Vec<_> = run.written.iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(
        keys,
        [
            format!("mapJobs/{id}/SUCCEEDED_0.json"),
            format!("mapJobs/{id}/FAILED_0.json"),
            format!("mapJobs/{id}/manifest.json"),
        ]
    );
    assert_eq!(*put.lock().expect("not poisoned"), keys);
    let failed = &run.written[1].1[0];
    assert_eq!(failed["Status"], "FAILED");
    assert_eq!(failed["Error"], "Item.Bad");
    assert_eq!(failed["Input"], "0");
    let succeeded = &run.written[0].1[0];
    assert_eq!(succeeded["Output"], "1");
    assert_eq!(
        run.written[2].1["ResultFiles"]["SUCCEEDED"][0]["Key"],
        json!(keys[0])
    );
}

/// A Map whose children answer arrays (`[n, n]`), one of them failing.
/// (No recording holds a `WriterConfig`: these follow AWS's ResultWriter
/// documentation.)
fn array_map(writer: Value) -> Value {
    let mut definition = failing_map(
        json!({"ItemsPath": "$.items", "ToleratedFailureCount": 1, "ResultWriter": writer}),
    );
    definition["States"]["MapState"]["ItemProcessor"]["States"]["Ok"] = json!({"Type": "Pass", "Parameters": {"pair.$": "States.Array($, $)"}, "OutputPath": "$.pair", "End": true});
    definition
}

#[test]
fn a_writer_config_alone_shapes_the_maps_output() {
    let shaped = |transformation: &str| {
        let definition = array_map(
            json!({"WriterConfig": {"Transformation": transformation, "OutputType": "JSON"}}),
        );
        let execution =
            Simulator::new(&Mocks::new()).run(&machine(definition), json!({"items": [1, 0, 2]}));
        assert_eq!(execution.status, Status::Succeeded, "{transformation}");
        assert!(
            execution.map_runs[0].written.is_empty(),
            "nothing is written without a Resource"
        );
        execution.output.expect("an output")
    };
    let failure = json!({"Error": "Item.Bad", "Cause": "zero"});
    assert_eq!(shaped("COMPACT"), json!([[1, 1], failure, [2, 2]]));
    assert_eq!(shaped("FLATTEN"), json!([1, 1, failure, 2, 2]));
    let records = shaped("NONE");
    assert_eq!(records[0]["Status"], "SUCCEEDED");
    assert_eq!(records[0]["Output"], "[1,1]");
    assert_eq!(records[1]["Status"], "FAILED");
    assert_eq!(records[1]["Error"], "Item.Bad");
}

#[test]
fn a_writer_config_shapes_the_files_it_writes_as_json_lines() {
    let definition = array_map(json!({
        "Resource": "arn:aws:states:::s3:putObject",
        "Parameters": {"Bucket": "result-bucket", "Prefix": "jobs/"},
        "WriterConfig": {"Transformation": "FLATTEN", "OutputType": "JSONL"}
    }));
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let bodies_by_mock = Arc::clone(&bodies);
    let mocks = Mocks::new().writer("arn:aws:states:::s3:putObject", move |call| {
        bodies_by_mock
            .lock()
            .expect("not poisoned")
            .push(call.parameters["Body"].clone());
        Response::ok(json!({}))
    });
    let execution = Simulator::new(&mocks).run(&machine(definition), json!({"items": [1, 0, 2]}));
    assert_eq!(execution.status, Status::Succeeded);
    let run = &execution.map_runs[0];
    let id = run.arn.rsplit(':').next().expect("an id");
    let keys: Vec<_> = run.written.iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(
        keys,
        [
            format!("jobs/{id}/SUCCEEDED_0.jsonl"),
            format!("jobs/{id}/FAILED_0.jsonl"),
            format!("jobs/{id}/manifest.json")
        ]
    );
    assert_eq!(run.written[0].1, json!("1\n1\n2\n2\n"));
    // A failed child's record is written whole, whatever the transformation.
    let failed: Value =
        serde_json::from_str(run.written[1].1.as_str().expect("JSON Lines")).expect("one line");
    assert_eq!(
        (failed["Status"].as_str(), failed["Error"].as_str()),
        (Some("FAILED"), Some("Item.Bad"))
    );
    let manifest = &run.written[2].1;
    assert_eq!(
        manifest["ResultFiles"]["SUCCEEDED"][0],
        json!({"Key": keys[0], "Size": 8})
    );
    assert_eq!(
        bodies.lock().expect("not poisoned")[0],
        json!("1\n1\n2\n2\n")
    );
    assert_eq!(
        execution.output.expect("an output")["ResultWriterDetails"]["Key"],
        json!(keys[2])
    );
}

#[test]
fn an_unknown_writer_config_value_fails_plainly() {
    let definition = array_map(json!({"WriterConfig": {"Transformation": "SQUASH"}}));
    let execution = Simulator::new(&Mocks::new()).run(&machine(definition), json!({"items": [1]}));
    assert_eq!(execution.status, Status::Failed);
    let failure = execution.failure.expect("a failure");
    assert_eq!(failure.error, "States.Runtime");
    assert!(failure.cause.contains("SQUASH"), "{}", failure.cause);
}

#[test]
fn an_inventory_manifest_gives_the_objects_its_csv_files_list() {
    let definition = distributed_map(json!({
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "MANIFEST", "MaxItems": 3},
            "Parameters": {"Bucket": "inventory-bucket", "Key": "photos/daily/2026-12-01T01-00Z/manifest.json"}
        }
    }));
    // The shape S3 Inventory writes: a manifest naming CSV files without a
    // header row, every field quoted.
    let manifest = json!({
        "sourceBucket": "photos",
        "destinationBucket": "arn:aws:s3:::inventory-bucket",
        "version": "2016-11-30",
        "fileFormat": "CSV",
        "fileSchema": "Bucket, Key, Size, LastModifiedDate",
        "files": [
            {"key": "photos/daily/data/a.csv.gz", "size": 120, "MD5checksum": "0"},
            {"key": "photos/daily/data/b.csv.gz", "size": 120, "MD5checksum": "0"}
        ]
    });
    let asked = Arc::new(Mutex::new(Vec::new()));
    let asked_by_mock = Arc::clone(&asked);
    let mocks = Mocks::new().reader("MapState", move |call| {
        asked_by_mock.lock().expect("not poisoned").push(call.parameters.clone());
        Response::ok(match call.parameters["Key"].as_str() {
            Some("photos/daily/data/a.csv.gz") => json!(
                "\"photos\",\"incoming/a.jpg\",\"10\",\"2026-11-30T10:00:00.000Z\"\n\"photos\",\"incoming/b, c.png\",\"20\",\"2026-11-30T11:00:00.000Z\"\n"
            ),
            Some("photos/daily/data/b.csv.gz") => json!(
                "\"photos\",\"incoming/d.jpg\",\"30\",\"2026-11-30T12:00:00.000Z\"\n\"photos\",\"incoming/e.jpg\",\"40\",\"2026-11-30T13:00:00.000Z\"\n"
            ),
            _ => json!({"Body": manifest.to_string()}),
        })
    });
    let execution = Simulator::new(&mocks).run(&machine(definition), json!({}));
    assert_eq!(
        execution.status,
        Status::Succeeded,
        "{:?}",
        execution.failure
    );
    let object = |key: &str, size: &str, hour: u8| json!({"Bucket": "photos", "Key": key, "Size": size, "LastModifiedDate": format!("2026-11-30T{hour}:00:00.000Z")});
    assert_eq!(
        execution.output,
        Some(json!([
            object("incoming/a.jpg", "10", 10),
            object("incoming/b, c.png", "20", 11),
            object("incoming/d.jpg", "30", 12)
        ]))
    );
    let keys: Vec<_> = asked
        .lock()
        .expect("not poisoned")
        .iter()
        .map(|p| p["Key"].clone())
        .collect();
    assert_eq!(
        keys,
        [
            json!("photos/daily/2026-12-01T01-00Z/manifest.json"),
            json!("photos/daily/data/a.csv.gz"),
            json!("photos/daily/data/b.csv.gz")
        ]
    );
    assert_eq!(
        asked.lock().expect("not poisoned")[1]["Bucket"],
        "inventory-bucket"
    );
}

#[test]
fn an_inventory_in_another_format_fails_the_reader_plainly() {
    let definition = distributed_map(json!({
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "MANIFEST"},
            "Parameters": {"Bucket": "inventory-bucket", "Key": "manifest.json"}
        }
    }));
    let mocks = Mocks::new().reader("MapState", |_| {
        Response::ok(
            json!({"fileFormat": "ORC", "fileSchema": "Bucket, Key", "files": []})
                .to_string()
                .into(),
        )
    });
    let execution = Simulator::new(&mocks).run(&machine(definition), json!({}));
    assert_eq!(execution.status, Status::Failed);
    let failure = execution.failure.expect("a failure");
    assert_eq!(failure.error, "States.ItemReaderFailed");
    assert!(failure.cause.contains("ORC"), "{}", failure.cause);
}

/// infra's `ImageBackfill`: a listing, a DynamoDB lookup and a Choice per
/// object, `ImageProcessing` for what is not done, the results written.
#[test]
fn image_backfill_runs_on_mocks() {
    use infra::backfill::{definition, state};
    use photopipe_shared::table::attribute;
    let settings = photopipe_shared::thumbnail_settings(photopipe_shared::DEFAULT_THUMBNAIL_SIZE);
    let object = |key: &str, etag: &str| {
        json!({"Key": key, "ETag": format!("\"{etag}\""), "Size": 10,
               "LastModified": "2026-01-01T00:00:00Z", "StorageClass": "STANDARD"})
    };
    let listing = json!({"Contents": [
        object("incoming/done.jpg", "e1"),
        object("incoming/new.jpg", "e2"),
        object("incoming/folder/", "e3"),
    ]});
    let item = json!({"Item": {
        attribute::STATUS: {"S": "COMPLETED"},
        attribute::ETAG: {"S": "e1"},
        attribute::THUMBNAIL: {"M": {"settings": {"S": settings}}},
    }});
    let mocks = Mocks::new()
        .reader(state::BACKFILL, move |call| {
            assert_eq!(call.parameters["Prefix"], "incoming/");
            Response::ok(listing.clone())
        })
        .resource(
            "arn:aws:states:::dynamodb:getItem",
            move |call| match call.parameters["Key"][attribute::IMAGE_KEY]["S"].as_str() {
                Some("incoming/done.jpg") => Response::ok(item.clone()),
                _ => Response::ok(json!({})),
            },
        )
        .resource("arn:aws:states:::states:startExecution.sync:2", |call| {
            let key = call.parameters["Input"]["key"].as_str().unwrap_or_default();
            Response::ok(json!({"ExecutionArn": format!("arn:child:{key}"), "Status": "SUCCEEDED"}))
        });
    let input = json!({"prefix": "incoming/", "force": false, "maxConcurrency": 2, "toleratedFailurePercentage": 5});
    let execution = Simulator::new(&mocks).run(&definition(), input);
    assert_eq!(
        execution.status,
        Status::Succeeded,
        "{:?}",
        execution.failure
    );
    let run = &execution.map_runs[0];
    let outputs: Vec<_> = run
        .executions
        .iter()
        .map(|e| e.output.clone().expect("an output"))
        .collect();
    assert_eq!(
        outputs,
        [
            json!({"key": "incoming/done.jpg", "outcome": "SKIPPED"}),
            json!({"key": "incoming/new.jpg", "outcome": "PROCESSED", "execution": "arn:child:incoming/new.jpg"}),
            json!({"key": "incoming/folder/", "outcome": "NOT_AN_IMAGE_KEY"}),
        ]
    );
    assert_eq!(
        run.executions[1].input["etag"], "e2",
        "the listing's quotes are dropped"
    );
    let output = execution.output.expect("an output");
    assert!(
        output["ResultWriterDetails"]["Key"]
            .as_str()
            .is_some_and(|k| k.starts_with("backfill-results/") && k.ends_with("/manifest.json"))
    );
    assert_eq!(run.written.len(), 2);
}

/// `test_map_state_tolerated_failure_percentage_path[100.1]` and
/// `…count_path[NoNumber]`: refused after MapStateStarted, before the run.
#[test]
fn unusable_thresholds_fail_the_state_before_its_run_starts() {
    let definition = distributed_map(json!({
        "ItemsPath": "$.Items",
        "ToleratedFailurePercentagePath": "$.ToleratedFailurePercentage"
    }));
    let execution = Simulator::new(&Mocks::new()).run(
        &machine(definition),
        json!({"Items": [0], "ToleratedFailurePercentage": 100.1}),
    );
    assert_eq!(
        kinds(&execution),
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "ExecutionFailed"
        ]
    );
    assert_eq!(
        execution.failure.expect("a failure").cause,
        "An error occurred while executing the state 'MapState' (entered at the event id #2). \
         ToleratedFailurePercentage must be between 0 and 100."
    );
    let definition = distributed_map(json!({
        "ItemsPath": "$.Items",
        "ToleratedFailureCountPath": "$.ToleratedFailureCount"
    }));
    let execution = Simulator::new(&Mocks::new()).run(
        &machine(definition),
        json!({"Items": [0], "ToleratedFailureCount": "NoNumber"}),
    );
    assert!(execution.failure.expect("a failure").cause.ends_with(
        "The ToleratedFailureCountPath field refers to value \"NoNumber\" which is not a valid integer: $.ToleratedFailureCount"
    ));
}
